package session

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"time"
)

// Helpers that every adapter needs the same way, so that a session behaves
// the same under every framework.

// RemoteIP returns the IP address of a connection's remote address as
// net/http gives it in Request.RemoteAddr ("192.0.2.1:1234",
// "[2001:db8::1]:1234", "[fe80::1%eth0]:1234"), in the form CanonicalIP
// gives. An address without a port is taken whole; one that holds no IP
// address (a Unix socket's "@") is returned as it is.
func RemoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	return CanonicalIP(addr)
}

// CanonicalIP returns the client IP ip in the one form every adapter
// reports, so that a client has the same fingerprint whichever framework
// serves it: an IPv4-mapped IPv6 address (::ffff:192.0.2.1) as plain IPv4,
// an IPv6 address in the shortest form of RFC 5952, its zone (fe80::1%eth0)
// kept, since the same link-local address on two links is two clients. A
// string that is not an IP address is returned as it is. It allocates only
// when it changes ip.
func CanonicalIP(ip string) string {
	if strings.IndexByte(ip, ':') < 0 {
		return ip // IPv4, the common case, is canonical as net/http writes it
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	var buf [64]byte
	if b := a.AppendTo(buf[:0]); string(b) != ip {
		return string(b)
	}
	return ip
}

// Panicking reports whether the calling goroutine is running the deferred
// calls of a panic, as a recovery middleware does when it writes its error
// response. An adapter whose commit is triggered by that response commits
// nothing: a handler that panicked half-way must not have its half-done
// changes saved, whatever the order of the recovery and session
// middlewares. It walks the stack, so adapters call it only on the rare
// path where it can matter (a 5xx response).
func Panicking() bool {
	var pcs [64]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs[:])])
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			return true
		}
		if !more {
			return false
		}
	}
}

// StoreTimeout returns the bound set with WithStoreTimeout, or zero. An
// adapter whose framework gives a request no context that ends (fasthttp)
// applies a default bound of its own when this is zero.
func (m *Manager) StoreTimeout() time.Duration { return m.storeTimeout }

// ResponseLost reports whether a buffering wrapper outside a net/http-shaped
// adapter (http.TimeoutHandler) threw away the response the session was
// committed into: the request's context ctx ended by its deadline before
// the handler returned, and w, the writer the adapter wrapped, refuses even
// an empty write with http.ErrHandlerTimeout. A writer that sends straight
// to the client accepts it and writes nothing. Adapters call it after the
// handler returns, and call Handle.Abandon when it reports true, so that a
// login whose cookie never reached the client does not lock it out.
//
// The wrapper answers from its own goroutine as the deadline passes, which
// may not have run yet; while the handler has not returned it can decide
// nothing else, so ResponseLost gives it up to 50 ms. Only requests that
// ran into their deadline pay for that.
func ResponseLost(ctx context.Context, w http.ResponseWriter) bool {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false
	}
	for range 50 {
		if _, err := w.Write(nil); errors.Is(err, http.ErrHandlerTimeout) {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}
