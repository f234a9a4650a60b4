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
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	session "github.com/sessionkit/sessionkit/core"
)

// Middleware returns Echo middleware that gives each request a session
// from m, loaded lazily by Get and committed just before the response
// headers are written. Register it with e.Use (or on a group or route).
//
// The middleware returns an *echo.HTTPError 500 wrapping the commit's error
// if the session could not be saved; otherwise the handler's error, or, if
// there is none, an error wrapping session.ErrLateChange when the handler
// changed the session after the headers went out.
func Middleware(m *session.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			x := &exchange{req: request{c}, w: res.Writer}
			x.keepEncoding = len(res.Header()["Content-Encoding"]) > 0 // an outer middleware's: see session.ErrorHeader
			x.Init(m, &x.req)
			res.Writer = x
			returned := false
			defer func() {
				if !returned {
					x.abandoned = true // panicking: commit nothing
				}
			}()
			ctx := c.Request().Context()
			err := next(c)
			returned = true
			if x.failed != nil {
				return x.failed
			}
			if x.abandoned {
				return err // a recovery middleware inside this one answered a panic
			}
			cerr := x.Commit()
			if x.wroteHeader && session.ResponseLost(ctx, x.w) {
				_ = x.Abandon() // an outer http.TimeoutHandler answered instead
			}
			if cerr != nil {
				if errors.Is(cerr, session.ErrLateChange) {
					if err != nil {
						return err // the core has logged the late change
					}
					return cerr
				}
				// The headers have not gone out: answer 500 instead.
				session.ErrorHeader(x.w.Header(), x.keepEncoding)
				return internalError(cerr)
			}
			return err
		}
	}
}

// Get returns the request's session, loading it on the first call. On
// error, which wraps session.ErrStore or session.ErrCorrupt (errors.Is sees
// through it), it returns an *echo.HTTPError with code 500 and the cause as
// Internal: return it from the handler and e.HTTPErrorHandler answers 500
// without detail. It also fails, rather than panicking, on a request that
// Middleware did not handle.
func Get(c echo.Context) (*session.Session, error) {
	x := find(c.Response().Writer)
	if x == nil {
		return nil, internalError(session.ErrNoMiddleware)
	}
	s, err := x.Session()
	if err != nil {
		return nil, internalError(err)
	}
	return s, nil
}

// find looks for the middleware's writer in the chain of writers wrapping
// one another through Unwrap.
func find(w http.ResponseWriter) *exchange {
	for range 64 {
		switch v := w.(type) {
		case *exchange:
			return v
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

func internalError(err error) *echo.HTTPError {
	return &echo.HTTPError{Code: http.StatusInternalServerError,
		Message: http.StatusText(http.StatusInternalServerError), Internal: err}
}

// exchange is the per-request state: the session handle, the
// session.Exchange describing the request, and the http.ResponseWriter that
// commits before the headers go out. It is the one allocation the
// middleware makes per request.
type exchange struct {
	session.Handle
	req          request
	w            http.ResponseWriter // the writer wrapped
	keepEncoding bool                // Content-Encoding was set before the handler ran
	wroteHeader  bool
	abandoned    bool            // the handler panicked: nothing is committed
	failed       *echo.HTTPError // the commit at header time failed
}

// request implements session.Exchange for an echo.Context.
type request struct{ c echo.Context }

// Context implements session.Exchange.
func (r *request) Context() context.Context { return r.c.Request().Context() }

// Cookies implements session.Exchange.
func (r *request) Cookies(name string) []string {
	return session.CookieValues(r.c.Request().Header, name)
}

// Header implements session.Exchange.
func (r *request) Header(name string) string { return r.c.Request().Header.Get(name) }

// ClientIP implements session.Exchange with echo's RealIP, which honours
// e.IPExtractor, in the form of session.CanonicalIP; the connection's
// address if RealIP finds none.
func (r *request) ClientIP() string {
	if ip := r.c.RealIP(); ip != "" {
		return session.CanonicalIP(ip)
	}
	return session.RemoteIP(r.c.Request().RemoteAddr)
}

// SetCookie implements session.Exchange.
func (r *request) SetCookie(ck *http.Cookie) { http.SetCookie(r.c.Response(), ck) }

// SetHeader implements session.Exchange.
func (r *request) SetHeader(name, value string) { r.c.Response().Header().Set(name, value) }

// Header implements http.ResponseWriter.
func (x *exchange) Header() http.Header { return x.w.Header() }

// commit commits the session before the headers of a response with status
// code go out, and reports whether the handler's output may go on. If the
// commit fails it answers with the error response of package session
// instead. A 5xx written while a panic unwinds is echo's Recover (or
// another recovery middleware) inside this one answering: the panicking
// handler's changes are not committed.
func (x *exchange) commit(code int) bool {
	if x.wroteHeader || x.abandoned {
		return x.failed == nil
	}
	x.wroteHeader = true
	if code >= 500 && session.Panicking() {
		x.abandoned = true
		return true
	}
	if err := x.Commit(); err != nil && !errors.Is(err, session.ErrLateChange) {
		x.failed = internalError(err)
		res := x.req.c.Response()
		res.Status, res.Committed = session.ErrorStatus, true // so echo writes nothing more
		session.WriteError(x.w, x.keepEncoding)
		return false
	}
	return true
}

// WriteHeader commits the session, then writes the header; if the commit
// fails it writes the error response instead.
func (x *exchange) WriteHeader(code int) {
	if x.wroteHeader || x.abandoned || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		x.w.WriteHeader(code) // informational, repeated, or after a panic
		return
	}
	if x.commit(code) {
		x.w.WriteHeader(code)
	}
}

// Write implements http.ResponseWriter; after a failed commit it discards
// the handler's body and reports the failure.
func (x *exchange) Write(b []byte) (int, error) {
	if !x.wroteHeader {
		x.WriteHeader(http.StatusOK)
	}
	if x.failed != nil {
		return 0, x.failed
	}
	return x.w.Write(b)
}

// Flush implements http.Flusher.
func (x *exchange) Flush() { _ = x.FlushError() }

// FlushError is the flush http.ResponseController uses.
func (x *exchange) FlushError() error {
	if !x.wroteHeader {
		x.WriteHeader(http.StatusOK)
	}
	if x.failed != nil {
		return x.failed
	}
	return http.NewResponseController(x.w).Flush()
}

// Hijack implements http.Hijacker, which echo's Response.Hijack reaches
// through http.ResponseController: the session is committed first, and its
// Set-Cookie is left in Header for the new owner of the connection to send.
// If the commit fails the client gets the error response and the
// connection is not handed over.
func (x *exchange) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !x.commit(http.StatusSwitchingProtocols) {
		return nil, nil, x.failed
	}
	conn, brw, err := http.NewResponseController(x.w).Hijack()
	if err == nil {
		x.req.c.Response().Committed = true // the connection's new owner answers, not echo
	}
	return conn, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController and for
// Get.
func (x *exchange) Unwrap() http.ResponseWriter { return x.w }
