// Package fasthttpsession is what the fiber adapters (fibersession for
// fiber v2, fiberv3session for fiber v3) share, both majors sitting on
// fasthttp: the per-request session.Exchange over a *fasthttp.RequestCtx,
// the default bound of store calls, and the commit and error answer around
// the rest of the chain. An adapter describes its fiber major with a
// Framework and keeps its public API and docs.
//
// It is not for users: its API follows the adapters and changes with them
// in any release. It is a module of its own, published and tagged with the
// others, only because both adapter modules require it.
package fasthttpsession

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"
	"unsafe"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
)

// Framework is a fiber major as this package needs it, C being its request
// context (fiber v2's *fiber.Ctx, v3's fiber.Ctx). An adapter implements it
// on an empty struct, whose zero value this package uses: it costs nothing
// per request, and the state stays one allocation.
type Framework[C any] interface {
	// Next runs the rest of the chain (c.Next()).
	Next(c C) error
	// RequestCtx returns the fasthttp request c serves.
	RequestCtx(c C) *fasthttp.RequestCtx
	// UserContext returns the context an earlier middleware may have set
	// on c (v2's c.UserContext(), v3's c.Context()).
	UserContext(c C) context.Context
	// IP returns c's client IP as the framework's proxy settings give it
	// (c.IP()).
	IP(c C) string
	// ErrorAs is the errors.As of every session error: if target points to
	// the framework's error type, it sets it to a 500 and reports true, so
	// that the framework's ErrorHandler answers 500.
	ErrorAs(target any) bool
	// StoreTimeout returns the bound of a store call that nothing else
	// bounds: the adapter's DefaultStoreTimeout, or what its tests set.
	StoreTimeout() time.Duration
}

// localsKey is the user value key (fiber's c.Locals) of a state: the
// innermost's with a nil m, m's once another middleware is nested inside
// m's. F keeps the adapters' keys apart.
type localsKey[F any] struct{ m *session.Manager }

// Middleware returns the handler of an adapter's Middleware, which checked
// that m is not nil: it gives each request a lazily loaded session of m,
// reached with GetFor, and commits it when the rest of the chain returns,
// before fasthttp sends the response. If the session failed it returns an
// error for fiber's ErrorHandler (see GetFor), else the handler's.
func Middleware[F Framework[C], C any](m *session.Manager) func(C) error {
	return func(c C) error {
		var f F
		x := &state[F, C]{c: c}
		x.Init(m, x)
		rc := f.RequestCtx(c)
		if outer, ok := rc.UserValue(localsKey[F]{}).(*state[F, C]); ok {
			rc.SetUserValue(localsKey[F]{outer.Manager()}, outer) // for GetFor, and for fasthttp to Close
		}
		rc.SetUserValue(localsKey[F]{}, x)
		err := f.Next(c)
		var ferr error
		if x.failed {
			// The Handle's load error again, or else GetFor's missing
			// middleware. Nothing is committed, now or in Close.
			if _, ferr = x.Session(); ferr == nil {
				ferr = session.ErrNoMiddleware
			}
		} else {
			x.committed = true
			if ferr = x.Commit(); ferr != nil {
				x.log(ferr)
			}
		}
		x.stopBound()
		if ferr != nil {
			return errorResponse[F](rc, ferr)
		}
		return err
	}
}

// errorResponse replaces what the handler wrote with the error response's
// status and headers, for fiber's ErrorHandler to finish, and calls off a
// hijack: the upgrade failed.
func errorResponse[F errorAs](rc *fasthttp.RequestCtx, err error) error {
	res := &rc.Response
	res.ResetBody()
	res.SetStatusCode(session.ErrorStatus)
	session.ResetErrorHeader(res.Header.Del, res.Header.Set)
	rc.Hijack(nil)
	return &sessionError[F]{err}
}

// GetFor is the adapters' GetFor: the session of m (of the innermost
// Middleware with a nil m), loading it on the first call. Its error
// converts (errors.As) to the framework's error 500, and the middleware
// replaces whatever the handler wrote; errors.Unwrap gives the cause,
// logged by then: it wraps session.ErrStore or session.ErrCorrupt, or is
// session.ErrNoMiddleware.
func GetFor[F Framework[C], C any](c C, m *session.Manager) (*session.Session, error) {
	var f F
	rc := f.RequestCtx(c)
	x, _ := rc.UserValue(localsKey[F]{}).(*state[F, C])
	if x != nil && m != nil && x.Manager() != m {
		x, _ = rc.UserValue(localsKey[F]{m}).(*state[F, C])
	}
	if x == nil {
		if in, _ := rc.UserValue(localsKey[F]{}).(*state[F, C]); in != nil {
			return nil, in.fail(session.ErrNoMiddleware) // another Manager's middleware answers
		}
		session.LogError(f.UserContext(c), nil, session.ErrNoMiddleware)
		return nil, errorResponse[F](rc, session.ErrNoMiddleware)
	}
	s, err := x.Session()
	if err != nil {
		return nil, x.fail(err)
	}
	return s, nil
}

// sessionError is a session error for fiber's ErrorHandler: a message
// without detail, the cause, and the framework's error 500 for errors.As.
type sessionError[F errorAs] struct{ err error }

// errorAs is the part of a Framework sessionError uses.
type errorAs interface{ ErrorAs(target any) bool }

func (e *sessionError[F]) Error() string { return http.StatusText(http.StatusInternalServerError) }

func (e *sessionError[F]) Unwrap() error { return e.err }

// As gives errors.As, which fiber's DefaultErrorHandler uses, the
// framework's error 500.
func (e *sessionError[F]) As(target any) bool {
	var f F
	return f.ErrorAs(target)
}

// state is the per-request value, in one allocation: the Handle and the
// Exchange.
type state[F Framework[C], C any] struct {
	session.Handle
	c         C
	committed bool                        // the middleware committed after Next
	failed    bool                        // GetFor failed and logged why
	vals      [2]string                   // room for Cookies' result
	bound     boundCtx[F]                 // the first store call's bounded context, here to save an allocation
	cur       atomic.Pointer[boundCtx[F]] // the current store call's
}

// fail logs err once and has the middleware answer with the error
// response, whatever the handler does next.
func (x *state[F, C]) fail(err error) error {
	if !x.failed {
		x.failed = true
		x.log(err)
	}
	return &sessionError[F]{err}
}

// log logs err, a session error on its way to the ErrorHandler, once.
func (x *state[F, C]) log(err error) {
	var f F
	session.LogError(f.UserContext(x.c), x.Manager(), err)
}

// Context implements session.Exchange: the user context, bounded by
// StoreTimeout when nothing else bounds the store calls. The core asks
// once per load and once per commit, so each gets the whole bound,
// counted from the store's first look, however long the handler ran.
func (x *state[F, C]) Context() context.Context {
	var f F
	ctx := f.UserContext(x.c)
	if _, ok := ctx.Deadline(); ok || x.Manager().StoreTimeout() > 0 {
		return ctx
	}
	b := x.cur.Load()
	switch {
	case b == nil:
		b = &x.bound
	case b.stop():
		b = new(boundCtx[F]) // a store started the last one's timer (now stopped): it cannot be reused
	}
	b.reset(ctx)
	x.cur.Store(b)
	return b
}

// stopBound releases the timer of the last store call's context, if a store
// started one.
func (x *state[F, C]) stopBound() {
	if b := x.cur.Load(); b != nil {
		b.stop()
	}
}

// Cookies implements session.Exchange. The values point into fasthttp's
// buffers; the core copies what it keeps.
func (x *state[F, C]) Cookies(name string) []string {
	var f F
	vals := x.vals[:0]
	f.RequestCtx(x.c).Request.Header.VisitAllCookie(func(k, v []byte) {
		if string(k) == name {
			vals = append(vals, unsafeString(v))
		}
	})
	return vals
}

// Header implements session.Exchange. The value points into fasthttp's
// buffers, as fiber's c.Get gives it; the core copies what it keeps.
func (x *state[F, C]) Header(name string) string {
	var f F
	return unsafeString(f.RequestCtx(x.c).Request.Header.Peek(name))
}

// ClientIP implements session.Exchange with the framework's IP (its proxy
// header and trusted proxies). fasthttp drops an IPv6 zone, which is put
// back: the same link-local address on two links is two clients.
func (x *state[F, C]) ClientIP() string {
	var f F
	ip := f.IP(x.c)
	if a, ok := f.RequestCtx(x.c).RemoteAddr().(*net.TCPAddr); ok && a.Zone != "" && a.IP.String() == ip {
		return ip + "%" + a.Zone
	}
	return session.CanonicalIP(ip)
}

// SetCookie implements session.Exchange.
func (x *state[F, C]) SetCookie(ck *http.Cookie) {
	var f F
	f.RequestCtx(x.c).Response.Header.Add("Set-Cookie", ck.String())
}

// SetHeader implements session.Exchange.
func (x *state[F, C]) SetHeader(name, value string) {
	var f F
	f.RequestCtx(x.c).Response.Header.Set(name, value)
}

// Close is called by fasthttp after the response, streamed body included,
// has gone out: committing again makes the core log changes made too late,
// as in a stream writer. The request is recycled by then: hands off.
func (x *state[F, C]) Close() error {
	if x.committed {
		_ = x.Commit()
	}
	return nil
}

// unsafeString returns b as a string without copying, as fiber does
// without Config.Immutable: valid while fasthttp keeps the buffer.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
