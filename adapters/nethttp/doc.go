// Package httpsession adapts sessionkit to net/http: middleware for
// http.ServeMux, chi and anything else net/http-shaped.
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		sess, err := httpsession.Get(r)
//		if err != nil {
//			httpsession.Error(w, r, err) // 500, logged once
//			return
//		}
//		sess.Regenerate()
//		sess.Set("user", "ann")
//	})
//	http.ListenAndServe(":8080", httpsession.Middleware(m)(mux))
//
// The session is loaded on the first Get and committed (stored, cookie
// set) just before the response headers go out, without buffering:
// Flusher, Hijacker, ReaderFrom and http.ResponseController keep working.
// A change made later is not saved, and the Manager's logger says so. A
// hijacked connection is committed first: send Set-Cookie from w.Header().
//
// Error answers Get's error as the middleware answers a commit that fails
// at header time: logged once, the response replaced by
// session.ErrorStatus with session.ErrorBody and Cache-Control: no-store,
// later writes refused. WithErrorHandler answers otherwise.
//
// Recovery middleware goes outside this one; wrappers that buffer and may
// replace the response (http.TimeoutHandler) inside, so that the cookie
// leaves with the answer that is sent:
//
//	h := recoverer(httpsession.Middleware(m)(http.TimeoutHandler(mux, 5*time.Second, "timeout")))
//
// Several Managers (each with its own cookie name) each get a Middleware;
// GetFor(r, m) returns m's session. The fingerprint's client IP is that of
// r.RemoteAddr; behind a reverse proxy use WithClientIP.
package httpsession
