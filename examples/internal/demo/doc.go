// Package demo is everything of the sessionkit demo app that is not about
// sessions: the command-line flags, opening the store, building the two
// session.Managers, input validation, the JSON shapes, the HTML page, the
// streamed response, logging and the graceful-shutdown runner.
//
// The six programs examples/nethttp, examples/gin, examples/echo,
// examples/echov5, examples/fiber and examples/fiberv3 mount the same
// routes in their framework's idiom, and their handlers make every session
// call themselves (Regenerate, Set, SetOwner, SetPersistent, AddFlash,
// Destroy, Rotate, Flashes, Incr, Manager.Sessions, Revoke and RevokeAll,
// the adapter's GetFor for the preferences session), so that each reads
// as an example of its adapter. They behave identically (the shared
// behaviour test in examples/internal/demotest proves it over real HTTP)
// and can share sessions through one Redis, PostgreSQL or SQLite store.
//
// A main is one line plus its routes:
//
//	func main() { demo.Main("nethttp", newServer) }
//
//	func newServer(app *demo.App) (demo.Server, error) {
//		mux := http.NewServeMux()
//		// ... routes whose handlers call httpsession.Get(r) and the
//		// session's methods, and render with demo.JSON, app.Page ...
//		h := httpsession.Middleware(app.Prefs)(httpsession.Middleware(app.Manager)(mux))
//		return app.HTTPServer(h), nil
//	}
//
// # Routes
//
// Every demo serves the same routes. The login session is app.Manager's
// (cookie "sid", or with -token-header a request header); the
// preferences session is app.Prefs's (cookie "prefs", persistent).
//
//	GET    /                       HTML page: counts a view; shows views, user, the
//	                               flashes of both sessions, the user's sessions with
//	                               a revoke button each, the login form (with
//	                               remember me) and a logout button (no JavaScript)
//	POST   /login                  form fields user, remember; logs in as
//	                               /api/login does; 303 to /
//	POST   /logout                 destroys the login session and, if there was
//	                               one, leaves a flash in the preferences session;
//	                               303 to /
//	POST   /revoke                 form field handle: ends that session of the
//	                               user's; 303 to /
//	GET    /api/session            counts a view; {"views":N,"user":"..."}
//	GET    /api/peek               the same JSON, changing nothing
//	POST   /api/login              form fields user (1 to 64 characters) and
//	                               remember ("1", "on" or "true": a persistent
//	                               cookie); regenerates the session ID, makes the
//	                               user its owner, adds a welcome flash; the JSON
//	                               above
//	POST   /api/logout             destroys the session; {"destroyed":true}
//	PUT    /api/values/{key}       stores the body (at most 4 KiB); 204
//	GET    /api/values/{key}       the stored body as text/plain, or 404
//	DELETE /api/values/{key}       204
//	GET    /api/stream             writes to the session, then streams three lines
//	GET    /api/sessions           the user's sessions, oldest first:
//	                               {"sessions":[{"handle":"...","current":true,
//	                               "created":"...","last_seen":"...",
//	                               "user_agent":"...","client_ip":"..."}]}; 401
//	                               when not logged in
//	DELETE /api/sessions/{handle}  ends one of the user's sessions; 204, 404 if the
//	                               handle is none of the user's, 401 when not
//	                               logged in
//	POST   /api/logout-everywhere  ends all the user's sessions, this one
//	                               included; {"destroyed":N}; 401 when not
//	                               logged in
//	POST   /api/rotate             a new session ID, the old one resolving for
//	                               -rotate-grace; the JSON of /api/peek
//	POST   /api/flash              form field msg (1 to 256 characters) added as a
//	                               flash; 204
//	GET    /api/flashes            pops the flashes: {"flashes":["..."]}
//	PUT    /api/prefs/theme        stores the body (at most 64 bytes of UTF-8) in
//	                               the preferences session; 204
//	GET    /api/prefs/theme        the theme as text/plain, or 404
//	GET    /metrics                the Managers' OpenTelemetry metrics as
//	                               Prometheus text
//	GET    /healthz                "ok", never touching a session
//
// Invalid input answers 400 with {"error":"..."} (plain text on the form
// routes). A session store failure, of a session load or commit or of a
// Manager call, takes the framework's error path: 500 without internal
// detail, logged.
//
// # Abuse resistance
//
// Before any session is loaded, every demo refuses, alike: a body over its
// route's limit (BodyLimit; 400, having read no further), an encoded body
// (415), and a write a browser sent from another origin (403, Go's
// http.CrossOriginProtection). Its server has the read, write and idle
// Timeouts of the configuration. The net/http-based demos wrap their
// router with LimitBodies and CrossOriginProtection; the fiber demos set
// Config.BodyLimit and the timeouts, and call CheckBody and
// CheckCrossOrigin from a middleware.
package demo
