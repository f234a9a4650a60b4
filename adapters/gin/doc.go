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
// If the store fails at that point the handler's response is replaced by
// the error response of package session: a plain 500 without the
// handler's body or caching headers, marked Cache-Control: no-store so
// that no cache keeps it. The error goes to c.Errors, and the handler's
// further writes return an error.
//
// A hijacked connection gets the session committed before it is handed
// over; a handler that wants the cookie sent must copy Set-Cookie from
// c.Writer.Header() into its own response (websocket libraries take a
// header argument for this).
//
// # Middleware order
//
// Register the recovery middleware before this one, so that it sits
// outside and a panic unwinds through the session middleware, which then
// commits nothing:
//
//	r.Use(gin.Recovery(), ginsession.Middleware(m))
//
// A recovery middleware registered after it that answers with a 5xx while
// the panic unwinds (gin.Recovery and gin.CustomRecovery do) is recognised
// and commits nothing either; one that answers nothing (gin.Recovery on a
// broken connection) leaves the session to be committed when the chain
// returns.
//
// Middleware that buffers the response and may replace it (a timeout, a
// response cache) goes after this one, inside it, so that the session is
// committed when the answer that really goes out is written.
//
// The client IP in the session fingerprint is c.ClientIP(), in the form of
// session.CanonicalIP, or the connection's address when gin finds none
// (an IPv6 client with a zone). gin trusts every proxy by default, which
// lets any client pick its IP with X-Forwarded-For: call
// Engine.SetTrustedProxies with nil or with exactly your proxies.
package ginsession
