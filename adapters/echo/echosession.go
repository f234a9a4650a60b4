// Package echosession connects sessionkit sessions to the Echo web
// framework (github.com/labstack/echo/v4).
//
//	m, _ := session.NewManager(session.WithStore(store))
//	e := echo.New()
//	e.IPExtractor = echo.ExtractIPDirect() // see "Client IP" below
//	e.Use(echosession.Middleware(m))
//	e.GET("/", func(c echo.Context) error {
//		sess, err := echosession.Get(c)
//		if err != nil {
//			return err // a 500 through e.HTTPErrorHandler
//		}
//		n, _ := session.GetAs[int](sess, "visits")
//		sess.Set("visits", n+1)
//		return c.String(http.StatusOK, strconv.Itoa(n+1))
//	})
//
// # Commit timing
//
// The session is saved and its cookie set just before the response headers
// go out: the middleware wraps c.Response().Writer, so this happens on the
// first WriteHeader, Write or Flush, whichever path the handler takes
// (echo's own Response, a wrapped net/http handler, or the writer itself).
// Nothing is buffered, so streaming with c.Response().Flush() works and the
// cookie arrives with the first bytes. A handler that writes nothing gets
// its session committed when it returns, before e.HTTPErrorHandler writes
// any error response. Changes made after the headers were sent are not
// saved; the core logs them with the Manager's logger and the middleware
// returns an error wrapping session.ErrLateChange.
//
// A hijacked connection (a WebSocket upgrade through c.Response().Hijack or
// http.ResponseController) gets the session committed before it is handed
// over; a handler that wants the cookie sent must copy Set-Cookie from
// c.Response().Header() into its own response (websocket libraries take a
// header argument for this).
//
// If the commit fails when the headers are about to go out, the client gets
// the error response of package session instead of the handler's response
// (a plain 500 without the handler's body or caching headers, marked
// Cache-Control: no-store so that no cache keeps it), the handler's later
// writes fail with that error, and the middleware returns it.
//
// # Middleware order
//
// Register middleware.Recover before this one, so that it sits outside and
// a panic unwinds through the session middleware, which then commits
// nothing:
//
//	e.Use(middleware.Recover(), echosession.Middleware(m))
//
// A Recover registered after it is recognised too, as long as it answers
// the panic itself (its default); with RecoverConfig.DisableErrorHandler it
// returns the panic as an ordinary error, and the session is committed.
//
// Middlewares installed after this one that replace c.Response().Writer
// must implement Unwrap() http.ResponseWriter, as echo's Gzip and BodyDump
// do, for Get to find the session. echo's Timeout middleware does not, and
// it buffers the response and may replace it with its own: installed
// before this one it would throw away the cookie of a session committed
// into its buffer (a login would lose both its old and its new session).
// Use ContextTimeout, which neither buffers nor hides the writer.
//
// # Client IP
//
// The default fingerprint binds a session to the client IP, taken from
// c.RealIP() in the form of session.CanonicalIP. Echo's default RealIP,
// with no e.IPExtractor set, believes the X-Forwarded-For and X-Real-IP
// headers from anyone, so a client could pick the IP it is bound to. Set e.IPExtractor in production:
// echo.ExtractIPDirect() when clients connect directly, or
// echo.ExtractIPFromXFFHeader / ExtractIPFromRealIPHeader with TrustOptions
// naming your proxies when a proxy sits in front.
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
	onError func(echo.Context, error)
}

// WithErrorHandler sets what answers a request whose session failed: Get
// could not load it, or its commit failed as the response headers were
// about to be written. The error has been logged with the Manager's logger
// and still reaches e.HTTPErrorHandler afterwards, as an *echo.HTTPError
// 500 with the cause as Internal; but the response is answered by then
// (c.Response().Committed), so that echo's default handler, which would
// answer JSON, writes nothing. f answers through c, whose header has
// already lost the handler's body and caching headers and says
// Cache-Control: no-store. The default answers session.ErrorStatus (500)
// with session.ErrorBody. A nil f keeps the default.
func WithErrorHandler(f func(c echo.Context, err error)) Option {
	return func(c *config) { c.onError = f }
}

// Middleware returns Echo middleware that gives each request a lazily
// loaded session of m, reached with Get or GetFor, and commits it just
// before the response headers are written. Register it with e.Use (or on a
// group or route). It panics if m is nil.
//
// The middleware returns an *echo.HTTPError 500 with the cause as Internal
// if the session failed (see Get); otherwise the handler's error, or, if
// there is none, an error wrapping session.ErrLateChange when the handler
// changed the session after the headers went out.
func Middleware(m *session.Manager, opts ...Option) echo.MiddlewareFunc {
	if m == nil {
		panic("echosession: Middleware with a nil Manager")
	}
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			w := res.Writer
			st := &state{c: c, cfg: cfg}
			st.Init(m, st)
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

// Get returns the session of a request served through Middleware, of the
// innermost Middleware when there are several, loading it on the first
// call. On an error it answers with the error response (session.
// ErrorStatus 500 with session.ErrorBody, or what WithErrorHandler
// answers), makes the handler's later writes fail, and returns an
// *echo.HTTPError 500 with the cause as Internal, for the handler to
// return to e.HTTPErrorHandler. The cause, which errors.Is sees through,
// wraps session.ErrStore or session.ErrCorrupt when the session could not
// be loaded, and is session.ErrNoMiddleware on a request that Middleware
// did not handle.
func Get(c echo.Context) (*session.Session, error) { return GetFor(c, nil) }

// GetFor is Get for the session of m, on a route with the middlewares of
// several Managers (each with its own cookie name); with a nil m it is Get.
// It fails with session.ErrNoMiddleware when no Middleware of m handles
// the request.
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

// lookup finds the writer of m's middleware, or the innermost for a nil m,
// in the chain of writers wrapping one another through Unwrap.
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

// noMiddleware answers a request without Middleware with the error
// response, and refuses the handler's later writes.
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

// httpError is err as echo's error path takes it: a 500 whose message
// shows no detail, with err as Internal.
func httpError(err error) *echo.HTTPError {
	return &echo.HTTPError{Code: http.StatusInternalServerError,
		Message: http.StatusText(http.StatusInternalServerError), Internal: err}
}

// state is the per-request value, in one allocation: the session Handle,
// the Exchange the core reads and the writer that commits before the
// headers.
type state struct {
	session.Handle
	c   echo.Context
	cfg *config
	w   responseWriter
}

// responseWriter commits the session before the headers go out. Get finds
// it through Unwrap from c.Response().Writer.
type responseWriter struct{ session.GateWriter }

// Context implements session.Exchange.
func (s *state) Context() context.Context { return s.c.Request().Context() }

// Cookies implements session.Exchange.
func (s *state) Cookies(name string) []string {
	return session.CookieValues(s.c.Request().Header, name)
}

// Header implements session.Exchange.
func (s *state) Header(name string) string { return s.c.Request().Header.Get(name) }

// ClientIP implements session.Exchange with echo's RealIP, which honours
// e.IPExtractor, in the form of session.CanonicalIP; the connection's
// address if RealIP finds none.
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

// Answer implements session.Answerer: the error response, marked as
// committed so that echo writes nothing more.
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
