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
// fails at that point the response becomes a 500 (see WithErrorHandler)
// and the handler's further writes return an error.
//
// A hijacked connection (a WebSocket, say) gets the session committed
// before it is handed over; net/http no longer writes the headers then, so
// a handler that wants the cookie sent must copy Set-Cookie from
// w.Header() into its own response (websocket libraries take a header
// argument for this).
//
// The client IP in the session fingerprint is the host of r.RemoteAddr,
// which headers such as X-Forwarded-For cannot change. Behind a reverse
// proxy use WithClientIP.
package httpsession
