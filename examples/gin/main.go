// Command gin is the sessionkit demo app on gin with the ginsession
// middleware.
//
//	go run ./examples/gin [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...|sqlite:PATH]
//
// The handlers below show every session call; examples/internal/demo holds
// what is not about sessions (flags, stores, validation, JSON shapes, the
// page) and documents the routes.
package main

import (
	"net/http"

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

func init() { gin.SetMode(gin.ReleaseMode) } // no debug banner and route dump

func main() { demo.Main("gin", newServer) }

// newServer mounts the demo's routes on a gin engine behind the session
// middleware. app.HTTPServer sets the read, write and idle timeouts.
func newServer(app *demo.App) (demo.Server, error) {
	r := gin.New()
	// The session fingerprint binds a session to c.ClientIP(). gin trusts
	// every proxy by default, so any client could pick its IP with
	// X-Forwarded-For (and replay a stolen cookie under the victim's IP).
	// The demo has no proxy in front: trust none, c.ClientIP() is then the
	// connection's address. Behind a proxy, pass exactly its addresses.
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	r.Use(gin.Recovery())
	// Errors take gin's error path, c.Errors: a failed session load or
	// commit (ginsession has answered 500 without detail) and a failed
	// Manager call (fail aborts with 500). Log them here, after the
	// handlers ran.
	r.Use(func(c *gin.Context) {
		c.Next()
		for _, err := range c.Errors {
			app.LogError(c.Request.Method, c.Request.URL.Path, err.Err)
		}
	})
	// Two sessions on every route: the preferences session (app.Prefs,
	// reached with ginsession.GetFor) outside the login session
	// (app.Manager, reached with ginsession.Get). Each loads only when a
	// handler asks for it.
	r.Use(ginsession.Middleware(app.Prefs), ginsession.Middleware(app.Manager))

	h := handlers{app}
	r.GET("/", h.page)
	r.POST("/login", h.formLogin)
	r.POST("/logout", h.formLogout)
	r.POST("/revoke", h.formRevoke)
	r.GET("/api/session", h.countView)
	r.GET("/api/peek", h.peek)
	r.POST("/api/login", h.login)
	r.POST("/api/logout", h.logout)
	r.PUT("/api/values/:key", h.putValue)
	r.GET("/api/values/:key", h.getValue)
	r.DELETE("/api/values/:key", h.deleteValue)
	r.GET("/api/stream", h.stream)
	r.GET("/api/sessions", h.sessions)
	r.DELETE("/api/sessions/:handle", h.revoke)
	r.POST("/api/logout-everywhere", h.logoutEverywhere)
	r.POST("/api/rotate", h.rotate)
	r.POST("/api/flash", h.addFlash)
	r.GET("/api/flashes", h.flashes)
	r.PUT("/api/prefs/theme", h.putTheme)
	r.GET("/api/prefs/theme", h.getTheme)
	r.GET("/metrics", gin.WrapH(app.Metrics))
	r.GET("/healthz", healthz)
	// Guards around the router, so that a request they refuse never loads
	// a session. Go's http.CrossOriginProtection refuses a write that a
	// browser sent from another origin (CSRF), 403.
	handler := demo.CrossOriginProtection().Handler(r)
	// demo.LimitBodies (http.MaxBytesReader) refuses a body over its
	// route's limit, 2 KiB for a login form, having read no further (gin
	// has no body limit of its own).
	handler = demo.LimitBodies(handler)
	return app.HTTPServer(handler), nil
}

type handlers struct{ app *demo.App }

// session returns the request's login session. When the store fails,
// ginsession.Get has put the error in c.Errors, aborted the chain and
// answered 500 without detail, and session reports false.
func (h handlers) session(c *gin.Context) (*session.Session, bool) {
	s, err := ginsession.Get(c)
	return s, err == nil
}

// prefs returns the request's preferences session, as session does.
func (h handlers) prefs(c *gin.Context) (*session.Session, bool) {
	p, err := ginsession.GetFor(c, h.app.Prefs)
	return p, err == nil
}

// fail answers a store error of a Manager call (Sessions, Revoke,
// RevokeAll) on gin's error path: 500 without detail, the error in
// c.Errors for the logging middleware.
func fail(c *gin.Context, err error) {
	_ = c.AbortWithError(http.StatusInternalServerError, err)
}

func writeJSON(c *gin.Context, status int, v any) {
	c.Data(status, demo.ContentTypeJSON, demo.JSON(v))
}

func writeError(c *gin.Context, status int, err error) {
	c.Data(status, demo.ContentTypeJSON, demo.ErrorJSON(err))
}

func (h handlers) page(c *gin.Context) {
	s, ok := h.session(c)
	if !ok {
		return
	}
	p, ok := h.prefs(c)
	if !ok {
		return
	}
	page, err := h.app.Page(c.Request.Context(), s, p)
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(http.StatusOK, demo.ContentTypeHTML, page)
}

// logIn is the login of both login routes.
func logIn(s *session.Session, user string, remember bool) {
	s.Regenerate()            // a new ID at every privilege change: a planted ID is worthless
	s.Set(demo.KeyUser, user) // a string always encodes: no error to check
	s.SetOwner(user)          // lists the session under Manager.Sessions(user)
	s.SetPersistent(remember) // remember me: a cookie that outlives the browser
	s.AddFlash(demo.Welcome(user))
}

func (h handlers) formLogin(c *gin.Context) {
	user := c.PostForm("user") // the form body only, not the query string
	if err := demo.ValidateUser(user); err != nil {
		c.Data(http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
		return
	}
	s, ok := h.session(c)
	if !ok {
		return
	}
	logIn(s, user, demo.ParseRemember(c.PostForm("remember")))
	c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) formLogout(c *gin.Context) {
	s, ok := h.session(c)
	if !ok {
		return
	}
	p, ok := h.prefs(c)
	if !ok {
		return
	}
	if !s.IsNew() { // a logout of nothing says nothing (and sets no cookie)
		p.AddFlash(demo.LoggedOut) // the login session is gone: the note lives in prefs
	}
	s.Destroy()
	c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) formRevoke(c *gin.Context) {
	s, ok := h.session(c)
	if !ok {
		return
	}
	if user := s.Owner(); user != "" {
		if _, err := h.app.Manager.Revoke(c.Request.Context(), user, c.PostForm("handle")); err != nil {
			fail(c, err)
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) countView(c *gin.Context) {
	if s, ok := h.session(c); ok {
		views := s.Incr(demo.KeyViews, 1) // merges: concurrent views all count
		user, _ := session.GetAs[string](s, demo.KeyUser)
		writeJSON(c, http.StatusOK, demo.State{Views: views, User: user})
	}
}

func (h handlers) peek(c *gin.Context) {
	if s, ok := h.session(c); ok {
		writeJSON(c, http.StatusOK, demo.Peek(s))
	}
}

func (h handlers) login(c *gin.Context) {
	user := c.PostForm("user")
	if err := demo.ValidateUser(user); err != nil {
		writeError(c, http.StatusBadRequest, err)
		return
	}
	if s, ok := h.session(c); ok {
		logIn(s, user, demo.ParseRemember(c.PostForm("remember")))
		writeJSON(c, http.StatusOK, demo.Peek(s))
	}
}

func (h handlers) logout(c *gin.Context) {
	if s, ok := h.session(c); ok {
		s.Destroy() // the record is deleted and the cookie expired at commit
		writeJSON(c, http.StatusOK, demo.LogoutBody{Destroyed: true})
	}
}

// sessions lists the logged-in user's sessions.
func (h handlers) sessions(c *gin.Context) {
	s, ok := h.session(c)
	if !ok {
		return
	}
	user := s.Owner()
	if user == "" {
		writeError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
		return
	}
	list, err := h.app.Manager.Sessions(c.Request.Context(), user)
	if err != nil {
		fail(c, err)
		return
	}
	writeJSON(c, http.StatusOK, demo.Sessions(list, s.Handle()))
}

// revoke ends one of the user's sessions by its handle.
func (h handlers) revoke(c *gin.Context) {
	s, ok := h.session(c)
	if !ok {
		return
	}
	user := s.Owner()
	if user == "" {
		writeError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
		return
	}
	found, err := h.app.Manager.Revoke(c.Request.Context(), user, c.Param("handle"))
	switch {
	case err != nil:
		fail(c, err)
	case !found: // unknown, or another user's: Revoke checks the owner
		writeError(c, http.StatusNotFound, demo.ErrNoSession)
	default:
		c.Status(http.StatusNoContent)
	}
}

// logoutEverywhere ends all the user's sessions, this one included.
func (h handlers) logoutEverywhere(c *gin.Context) {
	s, ok := h.session(c)
	if !ok {
		return
	}
	user := s.Owner()
	if user == "" {
		writeError(c, http.StatusUnauthorized, demo.ErrNotLoggedIn)
		return
	}
	n, err := h.app.Manager.RevokeAll(c.Request.Context(), user)
	if err != nil {
		fail(c, err)
		return
	}
	s.Destroy() // RevokeAll deleted its record; Destroy expires the cookie
	writeJSON(c, http.StatusOK, demo.RevokedBody{Destroyed: n})
}

// rotate gives the session a new ID without a privilege change: the old
// ID keeps resolving for -rotate-grace, so requests in flight with the
// old cookie neither fail nor overwrite the new one.
func (h handlers) rotate(c *gin.Context) {
	if s, ok := h.session(c); ok {
		s.Rotate()
		writeJSON(c, http.StatusOK, demo.Peek(s))
	}
}

func (h handlers) addFlash(c *gin.Context) {
	msg := c.PostForm("msg")
	if err := demo.ValidateFlash(msg); err != nil {
		writeError(c, http.StatusBadRequest, err)
		return
	}
	if s, ok := h.session(c); ok {
		s.AddFlash(msg) // a string always encodes: no error to check
		c.Status(http.StatusNoContent)
	}
}

func (h handlers) flashes(c *gin.Context) {
	if s, ok := h.session(c); ok {
		writeJSON(c, http.StatusOK, demo.Flashes(s.Flashes())) // popped exactly once
	}
}

func (h handlers) putTheme(c *gin.Context) {
	theme, err := demo.ReadTheme(c.Request.Body)
	if err != nil {
		writeError(c, http.StatusBadRequest, err)
		return
	}
	if p, ok := h.prefs(c); ok {
		p.Set(demo.KeyTheme, theme)
		c.Status(http.StatusNoContent)
	}
}

func (h handlers) getTheme(c *gin.Context) {
	p, ok := h.prefs(c)
	if !ok {
		return
	}
	theme, found := session.GetAs[string](p, demo.KeyTheme)
	if !found {
		writeError(c, http.StatusNotFound, demo.ErrNoTheme)
		return
	}
	c.Data(http.StatusOK, demo.ContentTypeText, []byte(theme))
}

// key returns the validated :key of a /api/values route, or answers 400
// and reports false.
func key(c *gin.Context) (string, bool) {
	k := c.Param("key")
	if err := demo.ValidateKey(k); err != nil {
		writeError(c, http.StatusBadRequest, err)
		return "", false
	}
	return demo.ValuePrefix + k, true // namespaced: never "user" or "views"
}

func (h handlers) putValue(c *gin.Context) {
	k, ok := key(c)
	if !ok {
		return
	}
	val, err := demo.ReadValue(c.Request.Body)
	if err != nil {
		writeError(c, http.StatusBadRequest, err)
		return
	}
	if s, ok := h.session(c); ok {
		s.Set(k, string(val))
		c.Status(http.StatusNoContent)
	}
}

func (h handlers) getValue(c *gin.Context) {
	k, ok := key(c)
	if !ok {
		return
	}
	s, ok := h.session(c)
	if !ok {
		return
	}
	val, found := session.GetAs[string](s, k)
	if !found {
		writeError(c, http.StatusNotFound, demo.ErrNoValue)
		return
	}
	c.Data(http.StatusOK, demo.ContentTypeText, []byte(val))
}

func (h handlers) deleteValue(c *gin.Context) {
	k, ok := key(c)
	if !ok {
		return
	}
	if s, ok := h.session(c); ok {
		s.Delete(k)
		c.Status(http.StatusNoContent)
	}
}

// stream writes to the session, then streams lines. The middleware commits
// the session (and sets the cookie) when the first line's headers go out;
// c.Writer.Flush is the middleware's.
func (h handlers) stream(c *gin.Context) {
	s, ok := h.session(c)
	if !ok {
		return
	}
	s.Set(demo.KeyStreamed, demo.Now()) // before the first byte: committed with the headers
	c.Header("Content-Type", demo.ContentTypeText)
	c.Header("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	c.Status(http.StatusOK)
	// An error means the client left; the response is already under way.
	_ = h.app.Stream(c.Request.Context(), c.Writer, func() error { c.Writer.Flush(); return nil })
}

func healthz(c *gin.Context) {
	c.Data(http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
}
