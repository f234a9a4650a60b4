package echov5session

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	session "github.com/sessionkit/sessionkit/core"
)

// An Option configures Middleware.
type Option func(*config)

type config struct {
	m       *session.Manager
	onError func(*echo.Context, error)
}

// WithErrorHandler sets what answers a request whose session failed (Get
// could not load it, or the commit failed at header time) instead of
// session.ErrorStatus with session.ErrorBody. f answers through c, whose
// header has lost the handler's caching headers (session.ErrorHeader); the
// error has been logged, and reaches e.HTTPErrorHandler afterwards, too
// late to answer. A nil f keeps the default.
func WithErrorHandler(f func(c *echo.Context, err error)) Option {
	return func(c *config) { c.onError = f }
}

// Middleware returns Echo middleware that gives each request a lazily
// loaded session of m, reached with Get or GetFor, and commits it just
// before the response headers are written. It returns an *echo.HTTPError
// 500 wrapping the cause if the session failed, else the handler's error,
// else session.ErrLateChange for a change made too late. It panics if m is
// nil.
func Middleware(m *session.Manager, opts ...Option) echo.MiddlewareFunc {
	if m == nil {
		panic("echov5session: Middleware with a nil Manager")
	}
	cfg := &config{m: m}
	for _, o := range opts {
		o(cfg)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			w := c.Response()
			st := &state{c: c, cfg: cfg}
			st.Init(cfg.m, st)
			st.w.Init(&st.Handle, w)
			c.SetResponse(&st.w)
			// Restored on the way out, also on a panic: what an outer
			// recovery middleware's error writes then must not commit the
			// session.
			defer c.SetResponse(w)
			ctx := c.Request().Context()
			err := next(c)
			if recovered(err) {
				return err // a panic, as an inner middleware.Recover returns it: commit nothing
			}
			if st.w.Written() {
				committed(w) // also when it went out behind echo's back (a hijack)
			}
			late := st.w.Done(ctx) // the core logs a late change
			if ferr := st.w.Err(); ferr != nil {
				committed(w)
				return httpError(ferr)
			}
			if err == nil {
				err = late
			}
			return err
		}
	}
}

// recovered reports whether err is a panic that middleware.Recover, inside
// this middleware, turned into an error: echo v5 gives no other sign of it.
// With RecoverConfig.DisablePrintStack it is a plain error, hence the
// documented order.
func recovered(err error) bool {
	var pe *middleware.PanicStackError
	return err != nil && errors.As(err, &pe)
}

// committed marks echo's Response under w committed, so that
// e.HTTPErrorHandler writes nothing after a response that went out.
func committed(w http.ResponseWriter) {
	if res, err := echo.UnwrapResponse(w); err == nil {
		res.Committed = true
	}
}

// Get returns the request's session (the innermost Middleware's), loading
// it on the first call. On an error it has answered with the error
// response and returns an *echo.HTTPError 500 for the handler to return;
// it wraps session.ErrStore or session.ErrCorrupt, or
// session.ErrNoMiddleware (errors.Is, errors.Unwrap).
func Get(c *echo.Context) (*session.Session, error) { return GetFor(c, nil) }

// GetFor is Get for the session of m, when the middlewares of several
// Managers share a route; with a nil m it is Get.
func GetFor(c *echo.Context, m *session.Manager) (*session.Session, error) {
	w := lookup(c.Response(), m)
	if w == nil {
		if in := lookup(c.Response(), nil); in != nil {
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
func noMiddleware(c *echo.Context) error {
	if res, err := echo.UnwrapResponse(c.Response()); err == nil && res.Committed {
		session.LogError(c.Request().Context(), nil, session.ErrNoMiddleware)
		return httpError(session.ErrNoMiddleware)
	}
	gw := new(session.GateWriter)
	gw.Init(nil, c.Response())
	err := gw.Fail(session.ErrNoMiddleware)
	committed(c.Response())
	c.SetResponse(gw) // echo resets it for the next request
	return httpError(err)
}

// httpError is err for echo's error path, its message without detail.
func httpError(err error) error {
	return echo.HTTPError{Code: http.StatusInternalServerError,
		Message: http.StatusText(http.StatusInternalServerError)}.Wrap(err)
}

// state is the per-request value, in one allocation: the Handle, the
// Exchange and the writer.
type state struct {
	session.Handle
	vals [2]string // room for the request's session cookies, so Cookies allocates nothing
	c    *echo.Context
	cfg  *config
	w    responseWriter
}

// responseWriter commits the session before the headers go out. While
// Answer runs the error handler, the handler's writes pass the gate:
// c.Response() must stay what it is then, since c.JSON keeps the writer it
// wraps in the Context and a nested c.JSON would clobber it.
type responseWriter struct {
	session.GateWriter
	answering bool
}

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if w.answering {
		w.Unwrap().WriteHeader(code)
		return
	}
	w.GateWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.answering {
		return w.Unwrap().Write(p)
	}
	return w.GateWriter.Write(p)
}

// ReadFrom implements io.ReaderFrom (c.Stream's io.Copy uses it).
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.answering {
		return io.Copy(w.Unwrap(), src)
	}
	return w.GateWriter.ReadFrom(src)
}

// Context implements session.Exchange.
func (s *state) Context() context.Context { return s.c.Request().Context() }

// Cookies implements session.Exchange.
func (s *state) Cookies(name string) []string {
	return session.AppendCookieValues(s.vals[:0], s.c.Request().Header, name)
}

// Header implements session.Exchange.
func (s *state) Header(name string) string { return s.c.Request().Header.Get(name) }

// ClientIP implements session.Exchange with c.RealIP (e.IPExtractor,
// r.RemoteAddr without one), or the connection's address when it finds
// none.
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

// Answer implements session.Answerer: the error response, or the
// WithErrorHandler handler's, written past the gate, which refuses writes
// now.
func (s *state) Answer(err error, replace bool) {
	if !replace {
		return
	}
	if s.cfg.onError == nil {
		session.WriteError(s.w.Unwrap(), true)
		return
	}
	s.w.answering = true
	defer func() { s.w.answering = false }()
	s.cfg.onError(s.c, err)
}
