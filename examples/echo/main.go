// Command echo is the sessionkit demo app on Echo v4 with the echosession
// middleware.
//
//	go run ./examples/echo [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...|sqlite:PATH]
//
// The handlers below show every session call; examples/internal/demo holds
// what is not about sessions (flags, stores, validation, JSON shapes, the
// page) and documents the routes.
package main

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

func main() { demo.Main("echo", newServer) }

// newServer mounts the demo's routes on an Echo instance behind the
// session middleware. app.HTTPServer sets the read, write and idle
// timeouts.
func newServer(app *demo.App) (demo.Server, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The session fingerprint binds a session to c.RealIP(). Echo's default
	// RealIP believes X-Forwarded-For and X-Real-IP from anyone, which
	// would let a client choose the IP its session is bound to (and replay
	// a stolen cookie under the victim's IP). The demo has no proxy in
	// front, so it takes the address of the connection. Behind a proxy use
	// echo.ExtractIPFromXFFHeader with TrustOptions naming that proxy.
	e.IPExtractor = echo.ExtractIPDirect()
	// Errors go through echo's error handler: a failed session load or
	// commit (echosession has answered 500 without detail already) and a
	// failed Manager call, which the handlers return as it is. 5xx are
	// logged; the client gets {"message":"Internal Server Error"}, no
	// internal detail.
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if !errors.As(err, &he) || he.Code >= 500 {
			app.LogError(c.Request().Method, c.Request().URL.Path, err)
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
	// Two sessions on every route: the preferences session (app.Prefs,
	// reached with echosession.GetFor) outside the login session
	// (app.Manager, reached with echosession.Get). Each loads only when a
	// handler asks for it.
	e.Use(echosession.Middleware(app.Prefs), echosession.Middleware(app.Manager))

	h := handlers{app}
	e.GET("/", h.page)
	e.POST("/login", h.formLogin)
	e.POST("/logout", h.formLogout)
	e.POST("/revoke", h.formRevoke)
	e.GET("/api/session", h.countView)
	e.GET("/api/peek", h.peek)
	e.POST("/api/login", h.login)
	e.POST("/api/logout", h.logout)
	e.PUT("/api/values/:key", h.putValue)
	e.GET("/api/values/:key", h.getValue)
	e.DELETE("/api/values/:key", h.deleteValue)
	e.GET("/api/stream", h.stream)
	e.GET("/api/sessions", h.sessions)
	e.DELETE("/api/sessions/:handle", h.revoke)
	e.POST("/api/logout-everywhere", h.logoutEverywhere)
	e.POST("/api/rotate", h.rotate)
	e.POST("/api/flash", h.addFlash)
	e.GET("/api/flashes", h.flashes)
	e.PUT("/api/prefs/theme", h.putTheme)
	e.GET("/api/prefs/theme", h.getTheme)
	e.GET("/metrics", echo.WrapHandler(app.Metrics))
	e.GET("/healthz", healthz)
	// Guards around the router, so that a request they refuse never loads
	// a session. Go's http.CrossOriginProtection refuses a write that a
	// browser sent from another origin (CSRF), 403.
	handler := demo.CrossOriginProtection().Handler(e)
	// demo.LimitBodies (http.MaxBytesReader) refuses a body over its
	// route's limit, 2 KiB for a login form, having read no further
	// (echo's middleware.BodyLimit would answer 413, the other demos 400).
	handler = demo.LimitBodies(handler)
	return app.HTTPServer(handler), nil
}

type handlers struct{ app *demo.App }

// Every handler returns the error of echosession.Get or GetFor as it is:
// an *echo.HTTPError 500 that e.HTTPErrorHandler finds answered. A store
// error of a Manager call (Sessions, Revoke, RevokeAll) is returned as it
// is too, for e.HTTPErrorHandler to log and answer 500.

func writeJSON(c echo.Context, status int, v any) error {
	return c.Blob(status, demo.ContentTypeJSON, demo.JSON(v))
}

func writeError(c echo.Context, status int, err error) error {
	return c.Blob(status, demo.ContentTypeJSON, demo.ErrorJSON(err))
}

// formValue returns the field of the form body. (c.FormValue would also
// read the query string; the demos take the form body only.)
func formValue(c echo.Context, name string) string { return c.Request().PostFormValue(name) }

func (h handlers) page(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	p, err := echosession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	page, err := h.app.Page(c.Request().Context(), s, p)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, demo.ContentTypeHTML, page)
}

// logIn is the login of both login routes.
func logIn(s *session.Session, user string, remember bool) {
	s.Regenerate()            // a new ID at every privilege change: a planted ID is worthless
	s.Set(demo.KeyUser, user) // a string always encodes: no error to check
	s.SetOwner(user)          // lists the session under Manager.Sessions(user)
	s.SetPersistent(remember) // remember me: a cookie that outlives the browser
	s.AddFlash(demo.Welcome(user))
}

func (h handlers) formLogin(c echo.Context) error {
	user := formValue(c, "user")
	if err := demo.ValidateUser(user); err != nil {
		return c.Blob(http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	logIn(s, user, demo.ParseRemember(formValue(c, "remember")))
	return c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) formLogout(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	p, err := echosession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	if !s.IsNew() { // a logout of nothing says nothing (and sets no cookie)
		p.AddFlash(demo.LoggedOut) // the login session is gone: the note lives in prefs
	}
	s.Destroy()
	return c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) formRevoke(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	if user := s.Owner(); user != "" {
		if _, err := h.app.Manager.Revoke(c.Request().Context(), user, formValue(c, "handle")); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) countView(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	views := s.Incr(demo.KeyViews, 1) // merges: concurrent views all count
	user, _ := session.GetAs[string](s, demo.KeyUser)
	return writeJSON(c, http.StatusOK, demo.State{Views: views, User: user})
}

func (h handlers) peek(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) login(c echo.Context) error {
	user := formValue(c, "user")
	if err := demo.ValidateUser(user); err != nil {
		return writeError(c, http.StatusBadRequest, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	logIn(s, user, demo.ParseRemember(formValue(c, "remember")))
	return writeJSON(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) logout(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	s.Destroy() // the record is deleted and the cookie expired at commit
	return writeJSON(c, http.StatusOK, demo.LogoutBody{Destroyed: true})
}

// sessions lists the logged-in user's sessions.
func (h handlers) sessions(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	user := s.Owner()
	if user == "" {
		return writeError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
	}
	list, err := h.app.Manager.Sessions(c.Request().Context(), user)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, demo.Sessions(list, s.Handle()))
}

// revoke ends one of the user's sessions by its handle.
func (h handlers) revoke(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	user := s.Owner()
	if user == "" {
		return writeError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
	}
	found, err := h.app.Manager.Revoke(c.Request().Context(), user, c.Param("handle"))
	switch {
	case err != nil:
		return err
	case !found: // unknown, or another user's: Revoke checks the owner
		return writeError(c, http.StatusNotFound, demo.ErrNoSession)
	}
	return c.NoContent(http.StatusNoContent)
}

// logoutEverywhere ends all the user's sessions, this one included.
func (h handlers) logoutEverywhere(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	user := s.Owner()
	if user == "" {
		return writeError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
	}
	n, err := h.app.Manager.RevokeAll(c.Request().Context(), user)
	if err != nil {
		return err
	}
	s.Destroy() // RevokeAll deleted its record; Destroy expires the cookie
	return writeJSON(c, http.StatusOK, demo.RevokedBody{Destroyed: n})
}

// rotate gives the session a new ID without a privilege change: the old
// ID keeps resolving for -rotate-grace, so requests in flight with the
// old cookie neither fail nor overwrite the new one.
func (h handlers) rotate(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	s.Rotate()
	return writeJSON(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) addFlash(c echo.Context) error {
	msg := formValue(c, "msg")
	if err := demo.ValidateFlash(msg); err != nil {
		return writeError(c, http.StatusBadRequest, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	s.AddFlash(msg) // a string always encodes: no error to check
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) flashes(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, demo.Flashes(s.Flashes())) // popped exactly once
}

func (h handlers) putTheme(c echo.Context) error {
	theme, err := demo.ReadTheme(c.Request().Body)
	if err != nil {
		return writeError(c, http.StatusBadRequest, err)
	}
	p, err := echosession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	p.Set(demo.KeyTheme, theme)
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) getTheme(c echo.Context) error {
	p, err := echosession.GetFor(c, h.app.Prefs)
	if err != nil {
		return err
	}
	theme, found := session.GetAs[string](p, demo.KeyTheme)
	if !found {
		return writeError(c, http.StatusNotFound, demo.ErrNoTheme)
	}
	return c.Blob(http.StatusOK, demo.ContentTypeText, []byte(theme))
}

// key returns the session key of a /api/values route's :key, or the
// client's error (400) if :key is invalid.
func key(c echo.Context) (string, error) {
	k := c.Param("key")
	if err := demo.ValidateKey(k); err != nil {
		return "", err
	}
	return demo.ValuePrefix + k, nil // namespaced: never "user" or "views"
}

func (h handlers) putValue(c echo.Context) error {
	k, err := key(c)
	if err != nil {
		return writeError(c, http.StatusBadRequest, err)
	}
	val, err := demo.ReadValue(c.Request().Body)
	if err != nil {
		return writeError(c, http.StatusBadRequest, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	s.Set(k, string(val))
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) getValue(c echo.Context) error {
	k, err := key(c)
	if err != nil {
		return writeError(c, http.StatusBadRequest, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	val, found := session.GetAs[string](s, k)
	if !found {
		return writeError(c, http.StatusNotFound, demo.ErrNoValue)
	}
	return c.Blob(http.StatusOK, demo.ContentTypeText, []byte(val))
}

func (h handlers) deleteValue(c echo.Context) error {
	k, err := key(c)
	if err != nil {
		return writeError(c, http.StatusBadRequest, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	s.Delete(k)
	return c.NoContent(http.StatusNoContent)
}

// stream writes to the session, then streams lines. The middleware commits
// the session (and sets the cookie) when the first line's headers go out;
// http.ResponseController reaches the middleware's Flush.
func (h handlers) stream(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	s.Set(demo.KeyStreamed, demo.Now()) // before the first byte: committed with the headers
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, demo.ContentTypeText)
	res.Header().Set("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	rc := http.NewResponseController(res)
	// An error means the client left, or the commit failed and the
	// middleware answered 500; either way the response is under way.
	_ = h.app.Stream(c.Request().Context(), res, rc.Flush)
	return nil
}

func healthz(c echo.Context) error {
	return c.Blob(http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
}
