// Package fiberv3session adapts sessionkit to Fiber v3
// (github.com/gofiber/fiber/v3, on fasthttp).
//
//	app := fiber.New()
//	app.Use(recover.New(), fiberv3session.Middleware(m)) // this order is required
//	app.Post("/login", func(c fiber.Ctx) error {
//		sess, err := fiberv3session.Get(c)
//		if err != nil {
//			return err // fiber's ErrorHandler answers 500
//		}
//		sess.Regenerate()
//		sess.Set("user", c.FormValue("user"))
//		return c.SendString("welcome")
//	})
//
// fasthttp sends the response after the handler returns, so the session
// is committed (stored, cookie set) when the chain returns, before any
// byte goes out; streamed bodies (c.SendStreamWriter) and hijacked
// connections (c.RequestCtx().Hijack) get the cookie with their headers.
// Change the session before starting a stream: a stream writer runs
// later, and its changes are logged as late, not saved.
//
// When Get cannot load the session, or the commit fails, the error is
// logged once, the middleware replaces what the handler wrote with status
// 500 and Cache-Control: no-store, and returns an error that converts to a
// *fiber.Error 500 whose message is only "Internal Server Error". fiber's
// ErrorHandler, which answers last, writes the body: answer otherwise
// there. errors.Unwrap gives the cause.
//
// Register recover.New before this middleware: fiber hides a panic that a
// recover inside it turned into an error. Each load and commit is bounded
// by DefaultStoreTimeout unless the Manager or c.Context() (SetContext, as
// the timeout middleware does) sets a bound. Strings from a fiber.Ctx
// point into reused buffers: Set encodes them at commit, but copy them
// (utils.CopyString, or Config.Immutable) to keep them longer. Raise
// Config.ReadBufferSize (4 KiB) if other cookies share the domain.
// Several Managers (each with its own cookie name) each get a Middleware;
// GetFor(c, m) returns m's session. The fingerprint's client IP is c.IP():
// behind a proxy set Config.ProxyHeader with TrustProxy and
// TrustProxyConfig.
package fiberv3session
