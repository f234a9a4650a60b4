package httpsession

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// An Option configures Middleware.
type Option func(*config)

type config struct {
	m        *session.Manager
	onError  func(http.ResponseWriter, *http.Request, error)
	clientIP func(*http.Request) string
}

// WithErrorHandler sets what answers a request whose session could not be
// saved when the response headers were about to be written (the store is
// down): f gets the underlying ResponseWriter, so the handler's status and
// body are replaced, and the error, which wraps session.ErrStore. The
// header f gets has already lost the handler's body and caching headers
// and says Cache-Control: no-store (session.ErrorHeader). The default logs
// the error with the Manager's logger and answers session.ErrorStatus (500)
// with session.ErrorBody as plain text, without detail. A nil f keeps the
// default.
func WithErrorHandler(f func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) {
		if f != nil {
			c.onError = f
		}
	}
}

// WithClientIP sets how the client IP used by the session fingerprint is
// found. The default is the IP of r.RemoteAddr, which a client cannot
// forge, in the form of session.RemoteIP. Behind a reverse proxy, pass a
// function that trusts the proxy's header only when the request comes from
// that proxy. A nil f keeps the default.
func WithClientIP(f func(r *http.Request) string) Option {
	return func(c *config) {
		if f != nil {
			c.clientIP = f
		}
	}
}

// Middleware returns net/http middleware that gives every request a lazily
// loaded session, reached with Get, and commits it just before the
// response headers are written. It panics if m is nil.
func Middleware(m *session.Manager, opts ...Option) func(http.Handler) http.Handler {
	if m == nil {
		panic("httpsession: Middleware with a nil Manager")
	}
	cfg := &config{m: m, onError: defaultError, clientIP: remoteIP}
	for _, o := range opts {
		o(cfg)
	}
	return func(next http.Handler) http.Handler {
		return &handler{cfg: cfg, next: next}
	}
}

// Get returns the session of a request served through Middleware, loading
// it on the first call. The error wraps session.ErrStore or
// session.ErrCorrupt when the session could not be loaded, and is
// session.ErrNoMiddleware when the request did not pass through Middleware.
func Get(r *http.Request) (*session.Session, error) {
	st, ok := r.Context().Value(ctxKey{}).(*state)
	if !ok {
		return nil, session.ErrNoMiddleware
	}
	return st.Session()
}

func defaultError(w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := r.Context().Value(ctxKey{}).(*state); ok {
		st.Manager().Logger().ErrorContext(st.parent, "sessionkit: the session could not be saved; answering 500", "err", err)
	}
	w.WriteHeader(session.ErrorStatus) // the header is session.ErrorHeader's already
	_, _ = io.WriteString(w, session.ErrorBody)
}

func remoteIP(r *http.Request) string { return session.RemoteIP(r.RemoteAddr) }

type handler struct {
	cfg  *config
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &state{cfg: h.cfg, parent: r.Context()}
	st.w.st, st.w.rw = st, w
	st.w.keepEncoding = len(w.Header()["Content-Encoding"]) > 0 // an outer middleware's: see session.ErrorHeader
	st.Init(h.cfg.m, st)
	st.r = r.WithContext(st)
	h.next.ServeHTTP(&st.w, st.r)
	switch {
	case !st.w.committed:
		st.w.commit(http.StatusOK) // nothing was written: net/http sends the headers now
	case !st.w.abandoned:
		_ = st.Commit() // the core logs changes made too late
		if session.ResponseLost(st.parent, w) {
			_ = st.Abandon() // an outer http.TimeoutHandler answered instead
		}
	}
}

// ctxKey finds a request's state in its context.
type ctxKey struct{}

// state is everything one request needs, in one allocation: the session
// Handle, the Exchange the core reads, the ResponseWriter wrapper and the
// context node that makes Get find the state.
type state struct {
	session.Handle
	cfg    *config
	parent context.Context
	r      *http.Request
	w      responseWriter
}

// Deadline implements context.Context.
func (s *state) Deadline() (time.Time, bool) { return s.parent.Deadline() }

// Done implements context.Context.
func (s *state) Done() <-chan struct{} { return s.parent.Done() }

// Err implements context.Context.
func (s *state) Err() error { return s.parent.Err() }

// Value implements context.Context.
func (s *state) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return s
	}
	return s.parent.Value(key)
}

// Context implements session.Exchange.
func (s *state) Context() context.Context { return s.parent }

// Cookies implements session.Exchange.
func (s *state) Cookies(name string) []string {
	return session.CookieValues(s.r.Header, name)
}

// Header implements session.Exchange.
func (s *state) Header(name string) string { return s.r.Header.Get(name) }

// ClientIP implements session.Exchange.
func (s *state) ClientIP() string { return s.cfg.clientIP(s.r) }

// SetCookie implements session.Exchange.
func (s *state) SetCookie(c *http.Cookie) { http.SetCookie(s.w.rw, c) }

// SetHeader implements session.Exchange.
func (s *state) SetHeader(name, value string) { s.w.rw.Header().Set(name, value) }

// responseWriter commits the session the first time the response headers
// are about to go out, and then gets out of the way: the body is never
// buffered.
type responseWriter struct {
	st           *state
	rw           http.ResponseWriter
	keepEncoding bool // Content-Encoding was set before the handler ran
	committed    bool
	abandoned    bool  // a recovery middleware answered a panic: nothing was committed
	err          error // the commit failed: the error response went out instead
}

// commit commits the session before the first header write, of status
// code, and reports whether the handler's output may go on. A 5xx written
// while a panic unwinds is a recovery middleware inside this one
// answering: the panicking handler's changes are not committed.
func (w *responseWriter) commit(code int) bool {
	if !w.committed {
		w.committed = true
		if code >= 500 && session.Panicking() {
			w.abandoned = true
			return true
		}
		if err := w.st.Commit(); err != nil {
			w.err = fmt.Errorf("httpsession: response replaced by an error, the session could not be saved: %w", err)
			session.ErrorHeader(w.rw.Header(), w.keepEncoding)
			w.st.cfg.onError(w.rw, w.st.r, err)
		}
	}
	return w.err == nil
}

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.rw.Header() }

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		if w.err == nil {
			w.rw.WriteHeader(code) // informational: the final headers are still to come
		}
		return
	}
	if w.commit(code) {
		w.rw.WriteHeader(code)
	}
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.commit(http.StatusOK) {
		return 0, w.err
	}
	return w.rw.Write(p)
}

// ReadFrom implements io.ReaderFrom, keeping the server's sendfile path.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.commit(http.StatusOK) {
		return 0, w.err
	}
	if rf, ok := w.rw.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.rw, src)
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError flushes like Flush and reports failure; http.ResponseController
// prefers it.
func (w *responseWriter) FlushError() error {
	if !w.commit(http.StatusOK) {
		return w.err
	}
	return http.NewResponseController(w.rw).Flush()
}

// Hijack implements http.Hijacker. The session is committed first; its
// Set-Cookie is left in Header for the new owner of the connection to send.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit(http.StatusSwitchingProtocols) {
		return nil, nil, w.err
	}
	return http.NewResponseController(w.rw).Hijack()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.rw }
