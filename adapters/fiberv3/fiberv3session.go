package fiberv3session

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/sessionkit/sessionkit/adapters/internal/fasthttpsession"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
)

// Middleware returns a Fiber handler that gives each request a lazily
// loaded session of m, reached with Get or GetFor, and commits it when the
// rest of the chain returns, before fasthttp sends the response. If the
// session failed it returns an error for fiber's ErrorHandler (see Get),
// else the handler's. It panics if m is nil.
func Middleware(m *session.Manager) fiber.Handler {
	if m == nil {
		panic("fiberv3session: Middleware with a nil Manager")
	}
	return fasthttpsession.Middleware[framework](m)
}

// Get returns the request's session (the innermost Middleware's), loading
// it on the first call. Return its error from the handler: it converts
// (errors.As) to a *fiber.Error 500 whose message, "Internal Server
// Error", is all fiber's default ErrorHandler shows; the middleware
// replaces whatever the handler wrote. errors.Unwrap gives the cause,
// logged by then: it wraps session.ErrStore or session.ErrCorrupt, or is
// session.ErrNoMiddleware.
func Get(c fiber.Ctx) (*session.Session, error) { return GetFor(c, nil) }

// GetFor is Get for the session of m, when the middlewares of several
// Managers share a route; with a nil m it is Get.
func GetFor(c fiber.Ctx, m *session.Manager) (*session.Session, error) {
	return fasthttpsession.GetFor[framework](c, m)
}

// DefaultStoreTimeout bounds each load and each commit of a session when
// neither the Manager (session.WithStoreTimeout) nor c.Context() (set
// by an earlier middleware) does: fasthttp never ends a request's context
// when the client leaves, so a stalled store would hold the worker
// forever.
const DefaultStoreTimeout = 5 * time.Second

// storeTimeout is DefaultStoreTimeout; the package's tests shorten it.
var storeTimeout = DefaultStoreTimeout

// framework is fiber v3 as fasthttpsession, which does the work, needs it.
type framework struct{}

func (framework) Next(c fiber.Ctx) error                      { return c.Next() }
func (framework) RequestCtx(c fiber.Ctx) *fasthttp.RequestCtx { return c.RequestCtx() }
func (framework) UserContext(c fiber.Ctx) context.Context     { return c.Context() }
func (framework) IP(c fiber.Ctx) string                       { return c.IP() }
func (framework) StoreTimeout() time.Duration                 { return storeTimeout }

// ErrorAs gives errors.As, which fiber's DefaultErrorHandler uses, a
// *fiber.Error 500 for a session error.
func (framework) ErrorAs(target any) bool {
	p, ok := target.(**fiber.Error)
	if ok {
		*p = fiber.NewError(fiber.StatusInternalServerError)
	}
	return ok
}
