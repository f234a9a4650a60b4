// Package echov5session adapts sessionkit to Echo v5
// (github.com/labstack/echo/v5).
//
//	e := echo.New()
//	e.Use(middleware.Recover(), echov5session.Middleware(m)) // recovery first
//	e.POST("/login", func(c *echo.Context) error {
//		sess, err := echov5session.Get(c)
//		if err != nil {
//			return err // answered 500 already; e.HTTPErrorHandler sees it
//		}
//		sess.Regenerate()
//		sess.Set("user", "ann")
//		return c.String(http.StatusOK, "welcome")
//	})
//
// The session is loaded on the first Get and committed (stored, cookie
// set) just before the headers go out, however the handler writes, or
// when it returns if it wrote nothing; nothing is buffered. A change made
// later is not saved, and the middleware returns session.ErrLateChange. A
// hijacked connection is committed first: send Set-Cookie from
// c.Response().Header().
//
// When Get cannot load the session, or the commit fails, the error is
// logged once, the response becomes session.ErrorStatus with
// session.ErrorBody and Cache-Control: no-store (later writes are
// refused), and an *echo.HTTPError 500 wrapping the cause (errors.Is)
// goes on to e.HTTPErrorHandler, which finds the response committed.
// WithErrorHandler answers otherwise.
//
// Register middleware.Recover before this middleware: echo v5's Recover
// returns a panic as an error, which this middleware tells from the
// handler's own only by its default *middleware.PanicStackError, so behind
// a Recover with DisablePrintStack a panicking handler's half-done changes
// would be saved. A middleware after this one that replaces c.Response()
// must implement Unwrap, as echo's do; use ContextTimeout for deadlines.
// Several Managers (each with its own cookie name) each get a Middleware;
// GetFor(c, m) returns m's session. The fingerprint's client IP is
// c.RealIP(): the connection's address unless e.IPExtractor says
// otherwise; behind a proxy set ExtractIPFromXFFHeader or
// ExtractIPFromRealIPHeader with the proxy's TrustOptions, not
// LegacyIPExtractor, which believes anyone.
package echov5session
