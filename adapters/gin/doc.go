// Package ginsession adapts sessionkit to gin.
//
//	m, err := session.NewManager(session.WithStore(store))
//	// ...
//	r := gin.New()
//	r.SetTrustedProxies(nil) // or exactly your proxies: the client IP is in the fingerprint
//	r.Use(ginsession.Middleware(m))
//	r.POST("/login", func(c *gin.Context) {
//		sess, err := ginsession.Get(c)
//		if err != nil {
//			return // Get recorded the error and answered 500
//		}
//		sess.Regenerate()
//		sess.Set("user", "ann")
//		c.String(http.StatusOK, "welcome")
//	})
//
// The session is loaded on the first Get and committed (stored, and its
// cookie set) just before gin sends the response headers, without
// buffering the body: c.Stream, Flush, Hijack (websockets) and
// http.ResponseController keep working through the middleware's
// ResponseWriter. A change made after the headers went out is not saved;
// its session.ErrLateChange goes to c.Errors (and the Manager's logger).
// If the store fails at that point the response becomes a plain 500, the
// error goes to c.Errors, and the handler's further writes return an
// error.
//
// A hijacked connection gets the session committed before it is handed
// over; a handler that wants the cookie sent must copy Set-Cookie from
// c.Writer.Header() into its own response (websocket libraries take a
// header argument for this).
//
// The client IP in the session fingerprint is c.ClientIP(). gin trusts
// every proxy by default, which lets any client pick its IP with
// X-Forwarded-For: call Engine.SetTrustedProxies with nil or with exactly
// your proxies.
package ginsession
