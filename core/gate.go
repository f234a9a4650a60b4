package session

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
)

// A Gate holds a response's headers back until the request's session is
// committed, for adapters whose framework writes through an
// http.ResponseWriter or a writer shaped like one. The adapter's writer
// wrapper calls Open before anything reaches the writer it wraps
// (GateWriter is that wrapper for a plain http.ResponseWriter), and its
// middleware calls Done when the handler has returned. Nothing is
// buffered.
//
// When the commit, or the adapter's accessor (Fail), fails, the gate logs
// the error once and answers with the error response instead of the
// handler's; every later Open then returns the error, and the wrapper must
// return it from the write without writing. A Gate belongs to the
// request's goroutine, like the writer it guards.
type Gate struct {
	h *Handle // its state and error live there: a Gate is three words
	w http.ResponseWriter
}

// The states of a Gate, kept in its Handle.
const (
	gateClosed  uint8 = iota // nothing has passed yet
	gateOpen                 // committed; the response goes through
	gateSkipped              // a recovery middleware answered a panic: nothing committed
	gateFailed               // answered with the error response; writes are refused
)

// An Answerer answers a request whose session failed. An adapter's
// Exchange implements it to take the framework's error path (a configured
// error handler, the framework's list of errors); a Gate whose Handle's
// Exchange does not implement it writes ErrorStatus and ErrorBody.
type Answerer interface {
	// Answer is called once, with the error the Gate failed with. replace
	// reports that the response's headers have not gone out and already
	// are those of the error response (ErrorHeader): Answer then writes the
	// status and body to the writer the Gate wraps. Otherwise the response
	// is under way and Answer only reports err.
	Answer(err error, replace bool)
}

// Init prepares g to guard w for the request of h. With a nil h the gate
// guards no session: it is for an accessor that found no middleware, and
// only its Fail does anything.
func (g *Gate) Init(h *Handle, w http.ResponseWriter) {
	if h == nil {
		h = new(Handle) // the error path only: it holds the state and the error
	}
	g.h, g.w = h, w
	h.gate = gateClosed
	// An outer middleware's Content-Encoding encodes the error body too:
	// see ErrorHeader.
	h.keepEncoding = len(w.Header()["Content-Encoding"]) > 0
}

// Handle returns the Handle g was given, or nil.
func (g *Gate) Handle() *Handle {
	if g.h.m == nil {
		return nil
	}
	return g.h
}

// Open is called before the response's final headers, of status code, are
// written, and before anything else reaches the wrapped writer. The first
// call commits the session, unless code is a 5xx written while a panic
// unwinds: a recovery middleware answering, whose handler's half-done
// changes must not be saved. It returns nil when the response may go on,
// and the error the gate failed with otherwise.
func (g *Gate) Open(code int) error {
	h := g.h
	if h.gate != gateClosed {
		return g.Err()
	}
	h.gate = gateOpen
	if code >= 500 && Panicking() {
		h.gate = gateSkipped
		return nil
	}
	if err := h.Commit(); err != nil {
		h.gate = gateClosed // the headers have not gone out: the error response replaces them
		g.fail(fmt.Errorf("session: could not be saved; the response was replaced by the error response: %w", err))
		return g.Err()
	}
	return nil
}

// Fail takes the error path for err, an error of Handle.Session the
// adapter's accessor met: it logs err, answers with the error response if
// the headers have not gone out, and refuses every later write. It returns
// the error the gate failed with; a gate that failed before neither logs
// nor answers again.
func (g *Gate) Fail(err error) error {
	if g.h.gate != gateFailed {
		g.fail(err)
	}
	return g.Err()
}

func (g *Gate) fail(err error) {
	h := g.h
	replace := h.gate == gateClosed
	h.gate = gateFailed
	h.mu.Lock()
	if h.err == nil {
		h.err = err // a loaded session ignores it; an unloaded one fails with it
	}
	err = h.err
	h.mu.Unlock()
	ctx := context.Background()
	if h.x != nil {
		ctx = h.x.Context()
	}
	LogError(ctx, h.m, err)
	if replace {
		ErrorHeader(g.w.Header(), h.keepEncoding)
	}
	if a, ok := h.x.(Answerer); ok {
		a.Answer(err, replace)
	} else if replace {
		g.w.WriteHeader(ErrorStatus)
		_, _ = io.WriteString(g.w, ErrorBody)
	}
}

// Err returns the error g failed with, or nil.
func (g *Gate) Err() error {
	h := g.h
	if h.gate != gateFailed {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Written reports whether anything has passed g: the headers went out (or
// a recovery middleware's did, or the error response's).
func (g *Gate) Written() bool { return g.h.gate != gateClosed }

// Done is called by the middleware when the handler has returned (not when
// it panicked), with the request's context ctx. If nothing was written it
// commits, since the framework writes the headers next, and answers with
// the error response if that fails. Otherwise it commits again to learn of
// changes made after the headers went out, and returns that
// ErrLateChange (the core has logged it); and if a buffering wrapper
// outside the adapter threw the response away (ResponseLost), it undoes
// what the commit moved (Handle.Abandon).
func (g *Gate) Done(ctx context.Context) error {
	h := g.h
	switch h.gate {
	case gateClosed:
		_ = g.Open(http.StatusOK)
	case gateOpen:
		err := h.Commit()
		if ResponseLost(ctx, g.w) {
			_ = h.Abandon()
		}
		return err
	}
	return nil
}

// LogError logs err, a session error an adapter answers with the error
// response, with m's logger, or with slog.Default when m is nil (the
// request has no session middleware, and so no Manager). Gates call it;
// adapters without one call it once for every such error.
func LogError(ctx context.Context, m *Manager, err error) {
	l := slog.Default()
	if m != nil {
		l = m.logger
	}
	l.ErrorContext(ctx, "sessionkit: session error; answering 500", "err", err)
}

// GateWriter is an http.ResponseWriter that lets its Gate commit the
// session before anything reaches the writer it wraps, and then passes
// everything through. It keeps http.Flusher, http.Hijacker, io.ReaderFrom
// and Unwrap (for http.ResponseController) working. Initialise it with
// Init; its zero value is not usable.
type GateWriter struct{ Gate }

// Header implements http.ResponseWriter.
func (w *GateWriter) Header() http.Header { return w.w.Header() }

// WriteHeader implements http.ResponseWriter. An informational status
// passes without a commit: the final headers are still to come.
func (w *GateWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		if w.Err() == nil {
			w.w.WriteHeader(code)
		}
		return
	}
	if w.Open(code) == nil {
		w.w.WriteHeader(code)
	}
}

// Write implements http.ResponseWriter.
func (w *GateWriter) Write(p []byte) (int, error) {
	if err := w.Open(http.StatusOK); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

// ReadFrom implements io.ReaderFrom, keeping the server's sendfile path.
func (w *GateWriter) ReadFrom(src io.Reader) (int64, error) {
	if err := w.Open(http.StatusOK); err != nil {
		return 0, err
	}
	if rf, ok := w.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.w, src)
}

// Flush implements http.Flusher.
func (w *GateWriter) Flush() { _ = w.FlushError() }

// FlushError flushes like Flush and reports failure; http.ResponseController
// prefers it.
func (w *GateWriter) FlushError() error {
	if err := w.Open(http.StatusOK); err != nil {
		return err
	}
	return http.NewResponseController(w.w).Flush()
}

// Hijack implements http.Hijacker. The session is committed first; its
// Set-Cookie is left in Header for the new owner of the connection to send.
func (w *GateWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if err := w.Open(http.StatusSwitchingProtocols); err != nil {
		return nil, nil, err
	}
	return http.NewResponseController(w.w).Hijack()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *GateWriter) Unwrap() http.ResponseWriter { return w.w }
