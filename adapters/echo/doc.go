// Package echosession adapts sessionkit to Echo v4
// (github.com/labstack/echo/v4).
//
//	e := echo.New()
//	e.IPExtractor = echo.ExtractIPDirect() // the client IP is in the fingerprint
//	e.Use(middleware.Recover(), echosession.Middleware(m))
//	e.POST("/login", func(c echo.Context) error {
//		sess, err := echosession.Get(c)
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
// refused), and an *echo.HTTPError 500 with the cause as Internal goes on
// to e.HTTPErrorHandler, which finds the response committed.
// WithErrorHandler answers otherwise.
//
// Register middleware.Recover before this middleware. A middleware after
// it that replaces c.Response().Writer must implement Unwrap; use
// ContextTimeout, not Timeout, which buffers. Several Managers (each with
// its own cookie name) each get a Middleware; GetFor(c, m) returns m's
// session. The fingerprint's client IP is c.RealIP(): set e.IPExtractor,
// since echo's default believes X-Forwarded-For from anyone.
package echosession
