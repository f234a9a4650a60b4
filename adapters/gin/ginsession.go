package ginsession

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	session "github.com/sessionkit/sessionkit/core"
)

// An Option configures Middleware.
type Option func(*config)

type config struct {
	m       *session.Manager
	onError func(*gin.Context, error)
}

// WithErrorHandler sets what answers a request whose session failed (Get
// could not load it, or the commit failed at header time) instead of
// session.ErrorStatus with session.ErrorBody. f answers through c, whose
// header has lost the handler's caching headers (session.ErrorHeader); the
// error is in c.Errors and logged by then. Middleware reading c.Errors
// runs after the response is under way, too late to answer. A nil f keeps
// the default.
func WithErrorHandler(f func(c *gin.Context, err error)) Option {
	return func(c *config) { c.onError = f }
}

// Middleware returns gin middleware that gives every request a lazily
// loaded session of m, reached with Get or GetFor, and commits it just
// before the response headers are written. It panics if m is nil.
func Middleware(m *session.Manager, opts ...Option) gin.HandlerFunc {
	if m == nil {
		panic("ginsession: Middleware with a nil Manager")
	}
	cfg := &config{m: m}
	for _, o := range opts {
		o(cfg)
	}
	return func(c *gin.Context) {
		req, w := c.Request, c.Writer
		st := &state{c: c, req: req, cfg: cfg}
		st.Init(cfg.m, st)
		st.w.ResponseWriter, st.w.st = w, st
		st.w.gate.Init(&st.Handle, w)
		c.Request, c.Writer = req.WithContext(st), &st.w
		// Restored on the way out, also on a panic: what the recovery
		// middleware writes then must not commit the session.
		defer func() { c.Request, c.Writer = req, w }()
		c.Next()
		if err := st.w.gate.Done(req.Context()); err != nil {
			_ = c.Error(err) // a change made too late; the core logs it too
		}
	}
}

// Get returns the request's session (the innermost Middleware's), loading
// it on the first call. On an error, which wraps session.ErrStore or
// session.ErrCorrupt or is session.ErrNoMiddleware, it has taken gin's
// error path (c.Errors, abort) and answered with the error response.
// Get works on a c.Copy too while the request lasts; there an error only
// goes to the copy's c.Errors: the request's goroutine owns the response.
func Get(c *gin.Context) (*session.Session, error) { return GetFor(c, nil) }

// GetFor is Get for the session of m, when the middlewares of several
// Managers share a route; with a nil m it is Get.
func GetFor(c *gin.Context, m *session.Manager) (*session.Session, error) {
	st := lookup(c, m)
	if st == nil {
		if in := lookup(c, nil); in != nil && c == in.c {
			return nil, in.w.gate.Fail(session.ErrNoMiddleware) // another Manager's middleware answers
		}
		return nil, noMiddleware(c)
	}
	s, err := st.Session()
	if err == nil {
		return s, nil
	}
	if c != st.c { // a c.Copy
		session.LogError(st.Context(), st.Manager(), err)
		_ = c.Error(err)
		return nil, err
	}
	return nil, st.w.gate.Fail(err)
}

// lookup finds the state of m's middleware (the innermost for a nil m)
// through c.Writer, or through the request context when a later middleware
// wrapped c.Writer or c is a copy.
func lookup(c *gin.Context, m *session.Manager) *state {
	for w, ok := c.Writer.(*responseWriter); ok; w, ok = w.ResponseWriter.(*responseWriter) {
		if w.st != nil && (m == nil || w.st.Manager() == m) {
			return w.st
		}
	}
	if c.Request != nil {
		if st, ok := c.Request.Context().Value(ctxKey{m}).(*state); ok {
			return st
		}
	}
	return nil
}

// noMiddleware takes gin's error path on a route without Middleware, and
// answers behind a gate that refuses the handler's later writes.
func noMiddleware(c *gin.Context) error {
	err := session.ErrNoMiddleware
	_ = c.Error(err)
	c.Abort()
	if u, ok := c.Writer.(interface{ Unwrap() http.ResponseWriter }); (ok && u.Unwrap() == nil) || c.Writer.Written() {
		var ctx context.Context = context.Background()
		if c.Request != nil {
			ctx = c.Request.Context()
		}
		session.LogError(ctx, nil, err) // a copy's detached writer, or a response under way: no answer
		return err
	}
	w := &responseWriter{ResponseWriter: c.Writer}
	w.gate.Init(nil, c.Writer)
	c.Writer = w
	return w.gate.Fail(err)
}

// ctxKey finds a request's state in its context: the innermost, or m's.
type ctxKey struct{ m *session.Manager }

// state is the per-request value, in one allocation: the Handle, the
// Exchange, the writer, and the context node of c.Request.
type state struct {
	session.Handle
	vals [2]string // room for the request's session cookies, so Cookies allocates nothing
	c    *gin.Context
	req  *http.Request // as the middleware found it
	cfg  *config
	w    responseWriter
}

// Deadline implements context.Context.
func (s *state) Deadline() (time.Time, bool) { return s.req.Context().Deadline() }

// Done implements context.Context.
func (s *state) Done() <-chan struct{} { return s.req.Context().Done() }

// Err implements context.Context.
func (s *state) Err() error { return s.req.Context().Err() }

// Value implements context.Context.
func (s *state) Value(key any) any {
	if k, ok := key.(ctxKey); ok && (k.m == nil || k.m == s.Manager()) {
		return s
	}
	return s.req.Context().Value(key)
}

// Context implements session.Exchange.
func (s *state) Context() context.Context { return s.req.Context() }

// Cookies implements session.Exchange.
func (s *state) Cookies(name string) []string {
	return session.AppendCookieValues(s.vals[:0], s.req.Header, name)
}

// Header implements session.Exchange.
func (s *state) Header(name string) string { return s.req.Header.Get(name) }

// ClientIP implements session.Exchange with c.ClientIP. gin gives "" for a
// zoned IPv6 address (fe80::1%eth0): the connection's address, which the
// client cannot forge, keeps such clients apart.
func (s *state) ClientIP() string {
	if ip := s.c.ClientIP(); ip != "" {
		return session.CanonicalIP(ip)
	}
	return session.RemoteIP(s.req.RemoteAddr)
}

// SetCookie implements session.Exchange.
func (s *state) SetCookie(c *http.Cookie) { http.SetCookie(s.w.ResponseWriter, c) }

// SetHeader implements session.Exchange.
func (s *state) SetHeader(name, value string) { s.w.ResponseWriter.Header().Set(name, value) }

// Answer implements session.Answerer: gin's error path, then the answer.
func (s *state) Answer(err error, replace bool) {
	c := s.c
	_ = c.Error(err)
	c.Abort()
	if !replace || s.w.ResponseWriter.Written() {
		return
	}
	if s.cfg.onError == nil {
		session.WriteError(s.w.ResponseWriter, true)
		return
	}
	w := c.Writer
	c.Writer = s.w.ResponseWriter // past the gate, which refuses writes now
	s.cfg.onError(c, err)
	c.Writer = w
}

// responseWriter commits the session the first time gin is about to send
// the headers. gin's WriteHeader only records the status: it does not.
type responseWriter struct {
	gin.ResponseWriter
	gate session.Gate
	st   *state // nil on a route without Middleware
}

// open is session.Gate.Open with the status gin recorded, asked for only
// while it matters.
func (w *responseWriter) open() error {
	if w.gate.Written() {
		return w.gate.Err()
	}
	return w.gate.Open(w.Status())
}

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if w.gate.Err() == nil {
		w.ResponseWriter.WriteHeader(code)
	}
}

// WriteHeaderNow implements gin.ResponseWriter.
func (w *responseWriter) WriteHeaderNow() {
	if w.open() == nil {
		w.ResponseWriter.WriteHeaderNow()
	}
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if err := w.open(); err != nil {
		return 0, err
	}
	return w.ResponseWriter.Write(p)
}

// WriteString implements gin.ResponseWriter.
func (w *responseWriter) WriteString(s string) (int, error) {
	if err := w.open(); err != nil {
		return 0, err
	}
	return w.ResponseWriter.WriteString(s)
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if w.open() == nil {
		w.ResponseWriter.Flush()
	}
}

// Hijack implements http.Hijacker; Set-Cookie is left in Header for the
// connection's new owner to send.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if err := w.open(); err != nil {
		return nil, nil, err
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
