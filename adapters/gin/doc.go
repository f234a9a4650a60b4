// Package ginsession adapts sessionkit to gin.
//
//	r := gin.New()
//	r.SetTrustedProxies(nil) // or exactly your proxies: the client IP is in the fingerprint
//	r.Use(gin.Recovery(), ginsession.Middleware(m))
//	r.POST("/login", func(c *gin.Context) {
//		sess, err := ginsession.Get(c)
//		if err != nil {
//			return // Get has answered 500 and put err in c.Errors
//		}
//		sess.Regenerate()
//		sess.Set("user", "ann")
//		c.String(http.StatusOK, "welcome")
//	})
//
// The session is loaded on the first Get and committed (stored, cookie
// set) just before gin sends the headers, without buffering: c.Stream,
// Flush, Hijack and http.ResponseController keep working. A change made
// later is not saved; its session.ErrLateChange goes to c.Errors. A
// hijacked connection is committed first: send Set-Cookie from
// c.Writer.Header().
//
// When Get cannot load the session, or the commit fails at header time,
// the error goes to c.Errors, the chain is aborted, the error is logged
// once, and the response becomes session.ErrorStatus with
// session.ErrorBody and Cache-Control: no-store; later writes are refused.
// WithErrorHandler answers otherwise: middleware reading c.Errors runs too
// late to.
//
// Register recovery before this middleware, and middleware that buffers
// and may replace the response after it. Several Managers (each with its
// own cookie name) each get a Middleware; GetFor(c, m) returns m's
// session. The fingerprint's client IP is c.ClientIP(): set
// Engine.SetTrustedProxies (and RemoteIPHeaders), since gin trusts every
// proxy by default.
package ginsession
