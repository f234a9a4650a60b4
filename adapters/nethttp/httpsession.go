package httpsession

import (
	"context"
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

// WithErrorHandler sets what answers a request whose session failed (the
// commit failed at header time, or Error was called) instead of
// session.ErrorStatus with session.ErrorBody. f gets the ResponseWriter the
// middleware wraps, whose header has lost the handler's caching headers
// (session.ErrorHeader), and the error, logged by then. A nil f keeps the
// default.
func WithErrorHandler(f func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) {
		if f != nil {
			c.onError = f
		}
	}
}

// WithClientIP sets how the fingerprint's client IP is found, instead of
// session.RemoteIP(r.RemoteAddr), which a client cannot forge. Behind a
// reverse proxy, pass a function that trusts its header only on requests
// from that proxy. A nil f keeps the default.
func WithClientIP(f func(r *http.Request) string) Option {
	return func(c *config) {
		if f != nil {
			c.clientIP = f
		}
	}
}

// Middleware returns net/http middleware that gives every request a lazily
// loaded session of m, reached with Get or GetFor, and commits it just
// before the response headers are written. It panics if m is nil.
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

// Get returns the request's session (the innermost Middleware's), loading
// it on the first call. The error, to answer with Error, wraps
// session.ErrStore or session.ErrCorrupt, or is session.ErrNoMiddleware.
func Get(r *http.Request) (*session.Session, error) { return GetFor(r, nil) }

// GetFor is Get for the session of m, when the middlewares of several
// Managers share a route; with a nil m it is Get.
func GetFor(r *http.Request, m *session.Manager) (*session.Session, error) {
	st, ok := r.Context().Value(ctxKey{m}).(*state)
	if !ok {
		return nil, session.ErrNoMiddleware
	}
	return st.Session()
}

// Error answers err, the error of Get or GetFor, as the middleware answers
// a failed commit: logged once with the Manager's logger, answered by the
// WithErrorHandler handler (session.ErrorStatus with session.ErrorBody by
// default), and later writes to w fail. Without a Middleware on the route
// it logs with slog.Default and answers the default way.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := r.Context().Value(ctxKey{}).(*state); ok {
		_ = st.w.Fail(err)
		return
	}
	session.LogError(r.Context(), nil, err)
	session.WriteError(w, true)
}

func defaultError(w http.ResponseWriter, _ *http.Request, _ error) { session.WriteError(w, true) }

func remoteIP(r *http.Request) string { return session.RemoteIP(r.RemoteAddr) }

type handler struct {
	cfg  *config
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &state{cfg: h.cfg, parent: r.Context()}
	st.Init(h.cfg.m, st)
	st.w.Init(&st.Handle, w)
	st.r = r.WithContext(st)
	h.next.ServeHTTP(&st.w, st.r)
	_ = st.w.Done(st.parent) // the core logs a late change
}

// ctxKey finds a request's state in its context: the innermost, or m's.
type ctxKey struct{ m *session.Manager }

// state is the per-request value, in one allocation: the Handle, the
// Exchange, the writer, and the context node through which Get finds it.
type state struct {
	session.Handle
	vals   [2]string // room for the request's session cookies, so Cookies allocates nothing
	cfg    *config
	parent context.Context
	r      *http.Request
	w      responseWriter
}

// responseWriter commits the session before the headers go out.
type responseWriter struct{ session.GateWriter }

// Deadline implements context.Context.
func (s *state) Deadline() (time.Time, bool) { return s.parent.Deadline() }

// Done implements context.Context.
func (s *state) Done() <-chan struct{} { return s.parent.Done() }

// Err implements context.Context.
func (s *state) Err() error { return s.parent.Err() }

// Value implements context.Context.
func (s *state) Value(key any) any {
	if k, ok := key.(ctxKey); ok && (k.m == nil || k.m == s.Manager()) {
		return s
	}
	return s.parent.Value(key)
}

// Context implements session.Exchange.
func (s *state) Context() context.Context { return s.parent }

// Cookies implements session.Exchange.
func (s *state) Cookies(name string) []string {
	return session.AppendCookieValues(s.vals[:0], s.r.Header, name)
}

// Header implements session.Exchange.
func (s *state) Header(name string) string { return s.r.Header.Get(name) }

// ClientIP implements session.Exchange.
func (s *state) ClientIP() string { return s.cfg.clientIP(s.r) }

// SetCookie implements session.Exchange.
func (s *state) SetCookie(c *http.Cookie) { http.SetCookie(s.w.Unwrap(), c) }

// SetHeader implements session.Exchange.
func (s *state) SetHeader(name, value string) { s.w.Header().Set(name, value) }

// Answer implements session.Answerer with the WithErrorHandler handler.
func (s *state) Answer(err error, replace bool) {
	if replace {
		s.cfg.onError(s.w.Unwrap(), s.r, err)
	}
}
