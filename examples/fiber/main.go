// Command fiber is the sessionkit demo app on fiber v2 with the
// fibersession middleware.
//
//	go run ./examples/fiber [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...|sqlite:PATH]
//
// The handlers below show every session call; examples/internal/demo holds
// what is not about sessions (flags, stores, validation, JSON shapes, the
// page) and documents the routes. It behaves exactly as examples/nethttp.
//
// Fiber (fasthttp) reuses the memory behind c.Params, c.Body, form values
// and friends once the handler returns, so every string taken from the
// request is copied first (utils.CopyString, string(bytes)).
package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/utils"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

func main() { demo.Main("fiber", newServer) }

// newServer mounts the demo's routes on a fiber app behind the session
// middlewares.
func newServer(app *demo.App) (demo.Server, error) {
	timeouts := app.Timeouts()
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true, // the runner logs where it listens
		// Routes match as net/http's ServeMux matches them: /API/peek and
		// /api/peek/ are not /api/peek.
		CaseSensitive: true,
		StrictRouting: true,
		// The connection timeouts every demo has (demo.Timeouts). fasthttp
		// has none by default: a client sending its headers a byte at a
		// time (slowloris) would hold its connection forever.
		ReadTimeout:  timeouts.Read,
		WriteTimeout: timeouts.Write,
		IdleTimeout:  timeouts.Idle,
		// fasthttp reads a whole body before routing; one bigger than the
		// largest any route takes is refused having been read no further
		// (errorHandler answers the 413 as the other demos do).
		// limitBodies applies each route's own, smaller limit.
		BodyLimit: demo.MaxBodySize,
		// Keep multipart bodies as bytes, so that limitBodies can measure
		// them (fasthttp would parse them into c.MultipartForm first).
		DisablePreParseMultipartForm: true,
		// fasthttp answers 431 to request headers over ReadBufferSize (4 KiB
		// by default); a browser may send up to about 8 KiB of cookies to a
		// host that other local apps also set cookies on.
		ReadBufferSize: 16 << 10,
		// No ProxyHeader: c.IP(), which the session fingerprint binds a
		// session to, is then the connection's address and no header can
		// change it. The demo has no proxy in front; behind one, set
		// ProxyHeader together with EnableTrustedProxyCheck and
		// TrustedProxies naming exactly that proxy.
		ErrorHandler: errorHandler(app),
	})
	// Guards before the session middlewares, so that a request they refuse
	// never loads a session; the same rules, in the same order, as the
	// other demos' demo.LimitBodies and http.CrossOriginProtection.
	f.Use(limitBodies)
	f.Use(crossOriginProtection)
	// Two sessions on every route: the login session (app.Manager, reached
	// with fibersession.Get, as the innermost) and the preferences session
	// (app.Prefs, reached with fibersession.GetFor). Each loads only when
	// a handler asks for it.
	f.Use(fibersession.Middleware(app.Prefs))
	f.Use(fibersession.Middleware(app.Manager))

	h := handlers{app}
	f.Get("/", h.page)
	f.Post("/login", h.formLogin)
	f.Post("/logout", h.formLogout)
	f.Post("/revoke", h.formRevoke)
	f.Get("/api/session", h.countView)
	f.Get("/api/peek", h.peek)
	f.Post("/api/login", h.login)
	f.Post("/api/logout", h.logout)
	f.Put("/api/values/:key", h.putValue)
	f.Get("/api/values/:key", h.getValue)
	f.Delete("/api/values/:key", h.deleteValue)
	f.Get("/api/stream", h.stream)
	f.Get("/api/sessions", h.sessions)
	f.Delete("/api/sessions/:handle", h.revoke)
	f.Post("/api/logout-everywhere", h.logoutEverywhere)
	f.Post("/api/rotate", h.rotate)
	f.Post("/api/flash", h.addFlash)
	f.Get("/api/flashes", h.flashes)
	f.Put("/api/prefs/theme", h.putTheme)
	f.Get("/api/prefs/theme", h.getTheme)
	f.Get("/metrics", adaptor.HTTPHandler(app.Metrics))
	f.Get("/healthz", healthz)
	return demo.ServerFuncs{ServeFunc: f.Listener, ShutdownFunc: f.ShutdownWithContext}, nil
}

// limitBodies refuses a body over its route's limit (demo.BodyLimit) and
// an encoded body, as demo.LimitBodies does for the other demos.
func limitBodies(c *fiber.Ctx) error {
	// BodyRaw: the body as it came (c.Body() would decompress it).
	size := int64(len(c.BodyRaw()))
	if refusal := demo.CheckBody(c.Method(), c.Path(), c.Get(fiber.HeaderContentEncoding), size); refusal != nil {
		return refuse(c, refusal)
	}
	return c.Next()
}

// crossOriginProtection refuses a write that a browser sent from another
// origin (CSRF) with 403: demo.CheckCrossOrigin runs Go's
// http.CrossOriginProtection check, as the other demos do, on fasthttp's
// request. (fiber's csrf middleware wants tokens, which the demo's forms
// and API clients do not send.)
func crossOriginProtection(c *fiber.Ctx) error {
	host := string(c.Request().Header.Host()) // as sent, like net/http's r.Host
	refusal := demo.CheckCrossOrigin(c.Method(), host, c.Path(), c.Get("Sec-Fetch-Site"), c.Get(fiber.HeaderOrigin))
	if refusal != nil {
		return refuse(c, refusal)
	}
	return c.Next()
}

// refuse answers a request that a guard or fasthttp turned away.
func refuse(c *fiber.Ctx, r *demo.Refusal) error {
	contentType, body := r.Response(c.Path())
	return send(c, r.Status, contentType, body)
}

// errorHandler answers the errors handlers return: a session failure
// (fibersession.Get's error, a 500), a store error of a Manager call
// (Sessions, Revoke, RevokeAll) and fiber's own errors. Unlike
// fiber.DefaultErrorHandler, which sends err.Error() to the client, it
// answers a 5xx with its status text only, and logs it.
func errorHandler(app *demo.App) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		if !errors.As(err, &fe) {
			// A handler's own error, such as the store error of a Manager
			// call: logged here with its cause, answered without it.
			app.LogError(c.Method(), c.Path(), err)
			return serverError(c, fiber.StatusInternalServerError)
		}
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			// fasthttp refused a body over Config.BodyLimit. It reset the
			// request if the body was chunked: the route is then unknown.
			if c.Request().Header.ContentLength() > 0 {
				return refuse(c, demo.TooLarge(c.Method(), c.Path()))
			}
			return refuse(c, demo.BodyTooLarge)
		}
		if fe.Code >= 500 {
			// fibersession's errors convert to a *fiber.Error 500; it
			// logged them with their cause (the error it returns says
			// only "Internal Server Error").
			if !errors.Is(err, session.ErrStore) && !errors.Is(err, session.ErrCorrupt) {
				app.LogError(c.Method(), c.Path(), err)
			}
			return serverError(c, fe.Code)
		}
		c.Set("X-Content-Type-Options", "nosniff") // as net/http's http.Error
		if fe.Code == fiber.StatusNotFound {
			// No such route: net/http's answer, without the path that
			// fiber's message repeats.
			return send(c, fe.Code, demo.ContentTypeText, []byte("404 page not found\n"))
		}
		return send(c, fe.Code, demo.ContentTypeText, []byte(fe.Message+"\n"))
	}
}

// serverError answers a server error as the session adapters answer a
// session failure, and as httpsession.Error answers the nethttp demo's
// Manager errors: the status text only, Cache-Control: no-store, none of
// the headers the handler set about its body.
func serverError(c *fiber.Ctx, code int) error {
	res := c.Response()
	session.ResetErrorHeader(res.Header.Del, res.Header.Set)
	return c.Status(code).SendString(utils.StatusMessage(code) + "\n")
}

type handlers struct{ app *demo.App }

func send(c *fiber.Ctx, status int, contentType string, body []byte) error {
	c.Set(fiber.HeaderContentType, contentType)
	return c.Status(status).Send(body)
}

func sendJSON(c *fiber.Ctx, status int, v any) error {
	return send(c, status, demo.ContentTypeJSON, demo.JSON(v))
}

func sendError(c *fiber.Ctx, status int, err error) error {
	return send(c, status, demo.ContentTypeJSON, demo.ErrorJSON(err))
}

// Every handler returns fibersession.Get's and GetFor's errors, and the
// store errors of Manager calls, as they are: errorHandler answers them
// with 500 and no detail.

func (h handlers) page(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	p, err := fibersession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	page, err := h.app.Page(c.UserContext(), s, p)
	if err != nil {
		return err
	}
	return send(c, http.StatusOK, demo.ContentTypeHTML, page)
}

// formValue returns a copy of the field name of the form body, urlencoded
// or multipart. (c.FormValue would also read the query string; the demos
// take the form body only, as net/http's PostFormValue does.)
func formValue(c *fiber.Ctx, name string) string {
	if form, err := c.MultipartForm(); err == nil {
		if v := form.Value[name]; len(v) > 0 {
			return utils.CopyString(v[0])
		}
		return ""
	}
	return string(c.Request().PostArgs().Peek(name)) // string() copies
}

// logIn is the login of both login routes.
func logIn(s *session.Session, user string, remember bool) {
	s.Regenerate()            // a new ID at every privilege change: a planted ID is worthless
	s.Set(demo.KeyUser, user) // a string always encodes: no error to check
	s.SetOwner(user)          // lists the session under Manager.Sessions(user)
	s.SetPersistent(remember) // remember me: a cookie that outlives the browser
	s.AddFlash(demo.Welcome(user))
}

func (h handlers) formLogin(c *fiber.Ctx) error {
	user := formValue(c, "user") // a copy: it goes into the session
	if err := demo.ValidateUser(user); err != nil {
		return send(c, http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	logIn(s, user, demo.ParseRemember(formValue(c, "remember")))
	return c.Redirect("/", http.StatusSeeOther)
}

func (h handlers) formLogout(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	p, err := fibersession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	if !s.IsNew() { // a logout of nothing says nothing (and sets no cookie)
		p.AddFlash(demo.LoggedOut) // the login session is gone: the note lives in prefs
	}
	s.Destroy()
	return c.Redirect("/", http.StatusSeeOther)
}

func (h handlers) formRevoke(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	if user := s.Owner(); user != "" {
		if _, err := h.app.Manager.Revoke(c.UserContext(), user, formValue(c, "handle")); err != nil {
			return err
		}
	}
	return c.Redirect("/", http.StatusSeeOther)
}

func (h handlers) countView(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	views := s.Incr(demo.KeyViews, 1) // merges: concurrent views all count
	user, _ := session.GetAs[string](s, demo.KeyUser)
	return sendJSON(c, http.StatusOK, demo.State{Views: views, User: user})
}

func (h handlers) peek(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) login(c *fiber.Ctx) error {
	user := formValue(c, "user") // a copy: it goes into the session
	if err := demo.ValidateUser(user); err != nil {
		return sendError(c, http.StatusBadRequest, err)
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	logIn(s, user, demo.ParseRemember(formValue(c, "remember")))
	return sendJSON(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) logout(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	s.Destroy() // the record is deleted and the cookie expired at commit
	return sendJSON(c, http.StatusOK, demo.LogoutBody{Destroyed: true})
}

// sessions lists the logged-in user's sessions.
func (h handlers) sessions(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	user := s.Owner()
	if user == "" {
		return sendError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
	}
	list, err := h.app.Manager.Sessions(c.UserContext(), user)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, demo.Sessions(list, s.Handle()))
}

// revoke ends one of the user's sessions by its handle.
func (h handlers) revoke(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	user := s.Owner()
	if user == "" {
		return sendError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
	}
	found, err := h.app.Manager.Revoke(c.UserContext(), user, utils.CopyString(param(c, "handle")))
	switch {
	case err != nil:
		return err
	case !found: // unknown, or another user's: Revoke checks the owner
		return sendError(c, http.StatusNotFound, demo.ErrNoSession)
	}
	return c.SendStatus(http.StatusNoContent)
}

// logoutEverywhere ends all the user's sessions, this one included.
func (h handlers) logoutEverywhere(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	user := s.Owner()
	if user == "" {
		return sendError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
	}
	n, err := h.app.Manager.RevokeAll(c.UserContext(), user)
	if err != nil {
		return err
	}
	s.Destroy() // RevokeAll deleted its record; Destroy expires the cookie
	return sendJSON(c, http.StatusOK, demo.RevokedBody{Destroyed: n})
}

// rotate gives the session a new ID without a privilege change: the old
// ID keeps resolving for -rotate-grace, so requests in flight with the
// old cookie neither fail nor overwrite the new one.
func (h handlers) rotate(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	s.Rotate()
	return sendJSON(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) addFlash(c *fiber.Ctx) error {
	msg := formValue(c, "msg") // a copy: it goes into the session
	if err := demo.ValidateFlash(msg); err != nil {
		return sendError(c, http.StatusBadRequest, err)
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	s.AddFlash(msg) // a string always encodes: no error to check
	return c.SendStatus(http.StatusNoContent)
}

func (h handlers) flashes(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	return sendJSON(c, http.StatusOK, demo.Flashes(s.Flashes())) // popped exactly once
}

func (h handlers) putTheme(c *fiber.Ctx) error {
	body := c.BodyRaw() // fiber's memory: valid during this handler only
	if err := demo.ValidateTheme(body); err != nil {
		return sendError(c, http.StatusBadRequest, err)
	}
	p, err := fibersession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	p.Set(demo.KeyTheme, string(body)) // string() copies
	return c.SendStatus(http.StatusNoContent)
}

func (h handlers) getTheme(c *fiber.Ctx) error {
	p, err := fibersession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	theme, found := session.GetAs[string](p, demo.KeyTheme)
	if !found {
		return sendError(c, http.StatusNotFound, demo.ErrNoTheme)
	}
	return send(c, http.StatusOK, demo.ContentTypeText, []byte(theme))
}

// param returns the route's :name unescaped, as net/http's r.PathValue
// gives it (c.Params is as the path was sent). A malformed escape is left
// as it is, for the validation to refuse.
func param(c *fiber.Ctx, name string) string {
	v := c.Params(name)
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// key returns the session key of a /api/values route's validated :key
// (the concatenation copies it), or answers 400 and reports false with
// the error of that answer.
func key(c *fiber.Ctx) (string, bool, error) {
	k := param(c, "key")
	if err := demo.ValidateKey(k); err != nil {
		return "", false, sendError(c, http.StatusBadRequest, err)
	}
	return demo.ValuePrefix + k, true, nil // namespaced: never "user" or "views"
}

func (h handlers) putValue(c *fiber.Ctx) error {
	k, ok, err := key(c)
	if !ok {
		return err
	}
	body := c.BodyRaw() // fiber's memory: valid during this handler only
	if err := demo.CheckValue(body); err != nil {
		return sendError(c, http.StatusBadRequest, err)
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	s.Set(k, string(body)) // string() copies
	return c.SendStatus(http.StatusNoContent)
}

func (h handlers) getValue(c *fiber.Ctx) error {
	k, ok, err := key(c)
	if !ok {
		return err
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	val, found := session.GetAs[string](s, k)
	if !found {
		return sendError(c, http.StatusNotFound, demo.ErrNoValue)
	}
	return send(c, http.StatusOK, demo.ContentTypeText, []byte(val))
}

func (h handlers) deleteValue(c *fiber.Ctx) error {
	k, ok, err := key(c)
	if !ok {
		return err
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	s.Delete(k)
	return c.SendStatus(http.StatusNoContent)
}

// stream writes to the session, then streams lines. The middleware
// commits the session (and sets the cookie) when the handler returns,
// before fasthttp sends the headers and reads the body, whose writer must
// not touch c or the session.
//
// The body is an io.Pipe rather than c.Context().SetBodyStreamWriter: fasthttp runs
// that writer at once, into a buffered pipe, so lines written while the
// session commits would leave together as one chunk. An io.Pipe hands each
// line over only when fasthttp reads it, after the headers, as one chunk
// sent at once; fasthttp closes the reader when the response ends or
// fails, which ends the writer.
func (h handlers) stream(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	s.Set(demo.KeyStreamed, demo.Now()) // before the stream: committed with the headers
	c.Set(fiber.HeaderContentType, demo.ContentTypeText)
	c.Set("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	pr, pw := io.Pipe()
	go func() {
		// No request context: a client that leaves makes fasthttp close
		// the reader, and the next write fails, which ends the stream.
		// Nothing to flush: the pipe has no buffer.
		pw.CloseWithError(h.app.Stream(context.Background(), pw, func() error { return nil }))
	}()
	return c.SendStream(pr)
}

func healthz(c *fiber.Ctx) error {
	return send(c, http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
}
