// Package httpsession adapts sessionkit to net/http: a
// func(http.Handler) http.Handler middleware that works with
// http.ServeMux, chi and anything else net/http-shaped.
//
//	m, err := session.NewManager(session.WithStore(store))
//	// ...
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		sess, err := httpsession.Get(r)
//		if err != nil {
//			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
//			return
//		}
//		sess.Regenerate()
//		sess.Set("user", "ann")
//	})
//	http.ListenAndServe(":8080", httpsession.Middleware(m)(mux))
//
// The session is loaded on the first Get and committed (stored, and its
// cookie set) just before the response headers are written, without
// buffering the body: http.Flusher, http.Hijacker, io.ReaderFrom and
// http.ResponseController keep working through the middleware's
// ResponseWriter. Changes made after the headers went out are not saved;
// the Manager's logger reports them (session.ErrLateChange). If the store
// fails at that point the handler's response is replaced by the error
// response of package session (see WithErrorHandler): a plain 500 without
// the handler's body or caching headers, marked Cache-Control: no-store so
// that no cache keeps it; the handler's further writes return an error.
//
// A hijacked connection (a WebSocket, say) gets the session committed
// before it is handed over; net/http no longer writes the headers then, so
// a handler that wants the cookie sent must copy Set-Cookie from
// w.Header() into its own response (websocket libraries take a header
// argument for this).
//
// # Middleware order
//
// Recovery middleware belongs outside this one, so that a panic unwinds
// through it and nothing the panicking handler changed is committed:
//
//	handler := recoverer(httpsession.Middleware(m)(mux))
//
// A recoverer inside it that answers with a 5xx while the panic unwinds
// (chi's Recoverer does) is recognised, and commits nothing either; one
// that answers only after its deferred call has returned cannot be told
// from a handler.
//
// A wrapper that buffers the response and may replace it, such as
// http.TimeoutHandler or a response cache, belongs inside this one:
//
//	handler := httpsession.Middleware(m)(http.TimeoutHandler(mux, 5*time.Second, "timeout"))
//
// The session is then committed when the wrapper writes its final answer,
// whichever it is, and the cookie goes out with it; a handler that timed
// out gets the session as it stood when the 503 was written, and its later
// changes are reported as late. Outside, the wrapper receives the
// commit's cookie in a buffer it may throw away: when http.TimeoutHandler
// answers 503 instead, the middleware undoes a Regenerate's move
// (Handle.Abandon), so the client keeps its pre-login session, but the
// login is lost.
//
// The client IP in the session fingerprint is the IP of r.RemoteAddr
// (session.RemoteIP: IPv4-mapped addresses as IPv4, IPv6 zones kept),
// which headers such as X-Forwarded-For cannot change. Behind a reverse
// proxy use WithClientIP.
package httpsession
