// Package demo is everything of the sessionkit demo app that is not
// framework glue: the command-line flags, opening the store, building the
// session.Manager, input validation, what each route does to the session,
// the JSON shapes, the HTML page, the streamed response, logging and the
// graceful-shutdown runner.
//
// The four programs examples/nethttp, examples/gin, examples/echo and
// examples/fiber only map routes to these helpers in their framework's
// idiom, so they behave identically (the shared behaviour test in
// examples/internal/demotest proves it over real HTTP) and can share
// sessions through one Redis or PostgreSQL store.
//
// A main is one line plus its routes:
//
//	func main() { demo.Main("nethttp", newServer) }
//
//	func newServer(app *demo.App) (demo.Server, error) {
//		mux := http.NewServeMux()
//		// ... routes calling demo.CountView, demo.Login, app.Page ...
//		return app.HTTPServer(httpsession.Middleware(app.Manager)(mux)), nil
//	}
//
// # Routes
//
// Every demo serves the same routes:
//
//	GET    /                  HTML page: counts a view, shows views and user,
//	                          login form and logout button (no JavaScript)
//	POST   /login             form field user; 303 to /
//	POST   /logout            303 to /
//	GET    /api/session       counts a view; {"views":N,"user":"..."}
//	GET    /api/peek          the same JSON, changing nothing
//	POST   /api/login         form field user (1 to 64 characters);
//	                          regenerates the session ID; the JSON above
//	POST   /api/logout        destroys the session; {"destroyed":true}
//	PUT    /api/values/{key}  stores the body (at most 4 KiB); 204
//	GET    /api/values/{key}  the stored body as text/plain, or 404
//	DELETE /api/values/{key}  204
//	GET    /api/stream        writes to the session, then streams three lines
//	GET    /healthz           "ok", never touching the session
//
// Invalid input answers 400 with {"error":"..."} (plain text on the form
// routes). A session store failure takes the framework's error path: 500
// without internal detail.
//
// # Abuse resistance
//
// Before any session is loaded, every demo refuses, alike: a body over its
// route's limit (BodyLimit; 400, having read no further), an encoded body
// (415), and a write a browser sent from another origin (403, Go's
// http.CrossOriginProtection). Its server has the read, write and idle
// Timeouts of the configuration. The net/http-based demos wrap their
// router with LimitBodies and CrossOriginProtection; fiber sets
// Config.BodyLimit and the timeouts, and calls CheckBody and
// CheckCrossOrigin from a middleware.
package demo
