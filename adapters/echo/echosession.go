package echosession

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	session "github.com/sessionkit/sessionkit/core"
)

// An Option configures Middleware.
type Option func(*config)

type config struct {
	m       *session.Manager
	onError func(echo.Context, error)
}

// WithErrorHandler sets what answers a request whose session failed (Get
// could not load it, or the commit failed at header time) instead of
// session.ErrorStatus with session.ErrorBody. f answers through c, whose
// header has lost the handler's caching headers (session.ErrorHeader); the
// error has been logged, and reaches e.HTTPErrorHandler afterwards, too
// late to answer. A nil f keeps the default.
func WithErrorHandler(f func(c echo.Context, err error)) Option {
	return func(c *config) { c.onError = f }
}

// Middleware returns Echo middleware that gives each request a lazily
// loaded session of m, reached with Get or GetFor, and commits it just
// before the response headers are written. It returns an *echo.HTTPError
// 500 with the cause as Internal if the session failed, else the handler's
// error, else session.ErrLateChange for a change made too late. It panics
// if m is nil.
func Middleware(m *session.Manager, opts ...Option) echo.MiddlewareFunc {
	if m == nil {
		panic("echosession: Middleware with a nil Manager")
	}
	cfg := &config{m: m}
	for _, o := range opts {
		o(cfg)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		// echo builds this closure per request: it captures two words.
		return func(c echo.Context) error {
			res := c.Response()
			w := res.Writer
			st := &state{c: c, cfg: cfg}
			st.Init(cfg.m, st)
			st.w.Init(&st.Handle, w)
			res.Writer = &st.w
			// Restored on the way out, also on a panic: what an outer
			// recovery middleware writes then must not commit the session.
			defer func() { res.Writer = w }()
			ctx := c.Request().Context()
			err := next(c)
			if st.w.Written() {
				res.Committed = true // also when it went out behind echo's back (a hijack)
			}
			late := st.w.Done(ctx) // the core logs a late change
			if ferr := st.w.Err(); ferr != nil {
				return httpError(ferr)
			}
			if err == nil {
				err = late
			}
			return err
		}
	}
}

// Get returns the request's session (the innermost Middleware's), loading
// it on the first call. On an error it has answered with the error
// response and returns an *echo.HTTPError 500 for the handler to return;
// its Internal wraps session.ErrStore or session.ErrCorrupt, or is
// session.ErrNoMiddleware.
func Get(c echo.Context) (*session.Session, error) { return GetFor(c, nil) }

// GetFor is Get for the session of m, when the middlewares of several
// Managers share a route; with a nil m it is Get.
func GetFor(c echo.Context, m *session.Manager) (*session.Session, error) {
	w := lookup(c.Response().Writer, m)
	if w == nil {
		if in := lookup(c.Response().Writer, nil); in != nil {
			return nil, httpError(in.Fail(session.ErrNoMiddleware)) // another Manager's middleware answers
		}
		return nil, noMiddleware(c)
	}
	s, err := w.Handle().Session()
	if err != nil {
		return nil, httpError(w.Fail(err))
	}
	return s, nil
}

// lookup finds the writer of m's middleware (the innermost for a nil m)
// among the writers wrapping one another through Unwrap.
func lookup(w http.ResponseWriter, m *session.Manager) *responseWriter {
	for range 64 {
		switch v := w.(type) {
		case *responseWriter:
			if m == nil || v.Handle().Manager() == m {
				return v
			}
			w = v.Unwrap()
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

// noMiddleware answers the error response on a route without Middleware,
// behind a gate that refuses the handler's later writes.
func noMiddleware(c echo.Context) error {
	res := c.Response()
	if res.Committed {
		session.LogError(c.Request().Context(), nil, session.ErrNoMiddleware)
		return httpError(session.ErrNoMiddleware)
	}
	gw := new(session.GateWriter)
	gw.Init(nil, res.Writer)
	err := gw.Fail(session.ErrNoMiddleware)
	res.Writer, res.Status, res.Committed = gw, session.ErrorStatus, true
	return httpError(err)
}

// httpError is err for echo's error path, its message without detail.
func httpError(err error) *echo.HTTPError {
	return &echo.HTTPError{Code: http.StatusInternalServerError,
		Message: http.StatusText(http.StatusInternalServerError), Internal: err}
}

// state is the per-request value, in one allocation: the Handle, the
// Exchange and the writer.
type state struct {
	session.Handle
	vals [2]string // room for the request's session cookies, so Cookies allocates nothing
	c    echo.Context
	cfg  *config
	w    responseWriter
}

// responseWriter commits the session before the headers go out.
type responseWriter struct{ session.GateWriter }

// Context implements session.Exchange.
func (s *state) Context() context.Context { return s.c.Request().Context() }

// Cookies implements session.Exchange.
func (s *state) Cookies(name string) []string {
	return session.AppendCookieValues(s.vals[:0], s.c.Request().Header, name)
}

// Header implements session.Exchange.
func (s *state) Header(name string) string { return s.c.Request().Header.Get(name) }

// ClientIP implements session.Exchange with c.RealIP (e.IPExtractor), or
// the connection's address when it finds none.
func (s *state) ClientIP() string {
	if ip := s.c.RealIP(); ip != "" {
		return session.CanonicalIP(ip)
	}
	return session.RemoteIP(s.c.Request().RemoteAddr)
}

// SetCookie implements session.Exchange.
func (s *state) SetCookie(ck *http.Cookie) { http.SetCookie(s.w.Unwrap(), ck) }

// SetHeader implements session.Exchange.
func (s *state) SetHeader(name, value string) { s.w.Header().Set(name, value) }

// Answer implements session.Answerer, marking the response committed so
// that echo's default HTTPErrorHandler writes no JSON after it.
func (s *state) Answer(err error, replace bool) {
	if !replace {
		return
	}
	res := s.c.Response()
	if s.cfg.onError == nil {
		res.Status, res.Committed = session.ErrorStatus, true
		session.WriteError(s.w.Unwrap(), true)
		return
	}
	w := res.Writer
	res.Writer = s.w.Unwrap() // past the gate, which refuses writes now
	s.cfg.onError(s.c, err)
	res.Writer = w
}
