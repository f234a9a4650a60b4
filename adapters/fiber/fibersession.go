// Package fibersession connects sessionkit sessions to the Fiber web
// framework (github.com/gofiber/fiber/v2, on fasthttp).
//
//	m, _ := session.NewManager(session.WithStore(store))
//	app := fiber.New()
//	app.Use(fibersession.Middleware(m))
//	app.Get("/", func(c *fiber.Ctx) error {
//		sess, err := fibersession.Get(c)
//		if err != nil {
//			return err // fiber's ErrorHandler answers 500
//		}
//		n, _ := session.GetAs[int](sess, "visits")
//		sess.Set("visits", n+1)
//		return c.SendString(strconv.Itoa(n + 1))
//	})
//
// # Commit timing
//
// fasthttp sends the response only after the handler returns, so the
// middleware commits the session when c.Next returns: the store is written
// and the cookie set before any byte goes out, without buffering more than
// fasthttp already does. That covers streamed bodies too
// (c.Context().SetBodyStreamWriter, c.SendStream): the cookie goes out with
// their headers. Make session changes before starting a stream: a stream
// writer runs on its own goroutine, may run before or after the commit, and
// so its changes may be saved or, usually, not (they are then reported as
// late by the Manager's logger once the response has been sent). Call Get
// in the handler, never inside a stream writer: the Ctx is not valid there.
//
// If the commit fails, the handler's body and the headers describing it
// are dropped and the middleware returns an error that makes the
// ErrorHandler answer 500. A request whose handler panics commits nothing.
//
// # fasthttp memory
//
// Strings taken from a *fiber.Ctx (c.Params, c.Query, c.Get, ...) point
// into buffers fasthttp reuses after the request, unless Config.Immutable
// is set. They may be passed to Session.Set as they are: values are encoded
// when the session is committed, inside the request. Copy them (with
// utils.CopyString) before keeping them anywhere else, including values
// read back from the session that you keep after the request. The adapter
// copies what it keeps itself.
//
// # Configuration
//
// fasthttp rejects requests whose headers exceed Config.ReadBufferSize
// (4 KiB by default) with 431; browsers send up to about 8 KiB of cookies
// for a site, so raise it (the tests use 16 KiB) if other cookies share the
// domain.
//
// The default fingerprint binds a session to the client IP from c.IP(),
// the connection's address unless Config.ProxyHeader is set. Behind a
// proxy, set ProxyHeader together with EnableTrustedProxyCheck and
// TrustedProxies: without the check, fiber believes the header from any
// client, who could then choose the IP its session is bound to.
package fibersession

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	session "github.com/sessionkit/sessionkit/core"
)

// localsKey is the c.Locals key of the request's exchange.
type localsKey struct{}

// Middleware returns a Fiber handler that gives each request a session from
// m, loaded lazily by Get and committed when the rest of the chain
// returns, before fasthttp sends the response. Register it with app.Use (or
// on a group or route).
//
// If the commit fails, the middleware returns an error that fiber's
// ErrorHandler answers with 500 (see Get); otherwise it returns the
// handler's error.
func Middleware(m *session.Manager) fiber.Handler {
	return func(c *fiber.Ctx) error {
		x := &exchange{c: c}
		x.Init(m, x)
		c.Locals(localsKey{}, x)
		err := c.Next()
		x.committed = true
		if cerr := x.Commit(); cerr != nil {
			res := c.Response()
			res.ResetBody()
			for _, k := range bodyHeaders {
				res.Header.Del(k)
			}
			res.Header.Set(fiber.HeaderCacheControl, "no-store")
			return x.fail(cerr)
		}
		return err
	}
}

// Get returns the request's session, loading it on the first call. On
// error, which wraps session.ErrStore or session.ErrCorrupt (errors.Is sees
// through it), return it from the handler: it converts (errors.As) to a
// *fiber.Error 500, and its message is just "Internal Server Error", so
// fiber's default ErrorHandler answers 500 without internal detail. The
// cause is logged with the Manager's logger and is errors.Unwrap(err).
//
// Get also fails, rather than panicking, on a request that Middleware did
// not handle; that error's message names the mistake.
func Get(c *fiber.Ctx) (*session.Session, error) {
	x, _ := c.Locals(localsKey{}).(*exchange)
	if x == nil {
		return nil, &sessionError{msg: session.ErrNoMiddleware.Error(), err: session.ErrNoMiddleware}
	}
	s, err := x.Session()
	if err != nil {
		return nil, x.fail(err)
	}
	return s, nil
}

// sessionError is the error Get and Middleware return: its message shows
// no detail, it unwraps to the cause and it converts to a *fiber.Error 500.
type sessionError struct {
	msg string
	err error
}

func (e *sessionError) Error() string { return e.msg }

func (e *sessionError) Unwrap() error { return e.err }

// As lets errors.As, as fiber's DefaultErrorHandler uses it, see a
// *fiber.Error 500.
func (e *sessionError) As(target any) bool {
	if p, ok := target.(**fiber.Error); ok {
		*p = fiber.NewError(fiber.StatusInternalServerError)
		return true
	}
	return false
}

// bodyHeaders describe a response body.
var bodyHeaders = []string{fiber.HeaderContentType, fiber.HeaderContentEncoding, fiber.HeaderContentRange,
	fiber.HeaderContentDisposition, fiber.HeaderETag, fiber.HeaderLastModified}

// exchange is the per-request state: the session handle and the
// session.Exchange describing the request. It is the one allocation the
// middleware makes per request.
type exchange struct {
	session.Handle
	c         *fiber.Ctx
	committed bool      // the middleware committed after c.Next
	vals      [2]string // room for Cookies' result
}

// fail logs err, which has no other way to the logs, and wraps it for the
// ErrorHandler.
func (x *exchange) fail(err error) error {
	x.Manager().Logger().ErrorContext(x.c.UserContext(), "fibersession: session unavailable; answering 500", "err", err)
	return &sessionError{msg: http.StatusText(http.StatusInternalServerError), err: err}
}

// Context implements session.Exchange.
func (x *exchange) Context() context.Context { return x.c.UserContext() }

// Cookies implements session.Exchange. The values point into fasthttp's
// buffers; the core copies what it keeps.
func (x *exchange) Cookies(name string) []string {
	vals := x.vals[:0]
	x.c.Request().Header.VisitAllCookie(func(k, v []byte) {
		if string(k) == name {
			vals = append(vals, utils.UnsafeString(v))
		}
	})
	return vals
}

// Header implements session.Exchange.
func (x *exchange) Header(name string) string { return x.c.Get(name) }

// ClientIP implements session.Exchange with fiber's c.IP, which honours
// Config.ProxyHeader and the trusted-proxy settings.
func (x *exchange) ClientIP() string { return x.c.IP() }

// SetCookie implements session.Exchange.
func (x *exchange) SetCookie(ck *http.Cookie) {
	x.c.Response().Header.Add(fiber.HeaderSetCookie, ck.String())
}

// SetHeader implements session.Exchange.
func (x *exchange) SetHeader(name, value string) { x.c.Set(name, value) }

// Close is called by fasthttp when it drops the request's values, after the
// response, streamed body included, has been sent. Committing again there
// makes the core log changes made too late, such as inside a stream writer.
// It must not touch the Ctx, which fiber has recycled by then.
func (x *exchange) Close() error {
	if x.committed {
		_ = x.Commit()
	}
	return nil
}
