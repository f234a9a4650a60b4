// Command gin is the sessionkit demo app on gin with the ginsession
// middleware.
//
//	go run ./examples/gin [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...]
//
// Everything but the routes lives in examples/internal/demo; see its
// documentation for the routes and flags.
package main

import (
	"net/http"

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
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
	// Session store failures reach gin's error path: ginsession.Get (or the
	// commit) records the error in c.Errors and answers 500 without
	// detail; log them here, after the handlers ran.
	r.Use(func(c *gin.Context) {
		c.Next()
		for _, err := range c.Errors {
			app.LogError(c.Request.Method, c.Request.URL.Path, err.Err)
		}
	})
	r.Use(ginsession.Middleware(app.Manager))

	h := handlers{app}
	r.GET("/", h.page)
	r.POST("/login", h.formLogin)
	r.POST("/logout", h.formLogout)
	r.GET("/api/session", h.countView)
	r.GET("/api/peek", h.peek)
	r.POST("/api/login", h.login)
	r.POST("/api/logout", h.logout)
	r.PUT("/api/values/:key", h.putValue)
	r.GET("/api/values/:key", h.getValue)
	r.DELETE("/api/values/:key", h.deleteValue)
	r.GET("/api/stream", h.stream)
	r.GET("/healthz", func(c *gin.Context) {
		c.Data(http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
	})
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

func jsonBody(c *gin.Context, status int, v any) {
	c.Data(status, demo.ContentTypeJSON, demo.JSON(v))
}

func badRequest(c *gin.Context, err error) {
	jsonBody(c, http.StatusBadRequest, demo.ErrorBody{Error: err.Error()})
}

// Every handler returns when ginsession.Get fails: Get has recorded the
// error and answered 500.

func (h handlers) page(c *gin.Context) {
	s, err := ginsession.Get(c)
	if err != nil {
		return
	}
	page, err := h.app.Page(demo.CountView(s))
	if err != nil {
		c.AbortWithError(http.StatusInternalServerError, err)
		return
	}
	c.Data(http.StatusOK, demo.ContentTypeHTML, page)
}

func (h handlers) formLogin(c *gin.Context) {
	user := c.PostForm("user") // the form body only, not the query string
	if err := demo.ValidateUser(user); err != nil {
		c.Data(http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
		return
	}
	s, err := ginsession.Get(c)
	if err != nil {
		return
	}
	demo.Login(s, user)
	c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) formLogout(c *gin.Context) {
	s, err := ginsession.Get(c)
	if err != nil {
		return
	}
	demo.Logout(s)
	c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) countView(c *gin.Context) {
	if s, err := ginsession.Get(c); err == nil {
		jsonBody(c, http.StatusOK, demo.CountView(s))
	}
}

func (h handlers) peek(c *gin.Context) {
	if s, err := ginsession.Get(c); err == nil {
		jsonBody(c, http.StatusOK, demo.Peek(s))
	}
}

func (h handlers) login(c *gin.Context) {
	user := c.PostForm("user")
	if err := demo.ValidateUser(user); err != nil {
		badRequest(c, err)
		return
	}
	if s, err := ginsession.Get(c); err == nil {
		jsonBody(c, http.StatusOK, demo.Login(s, user))
	}
}

func (h handlers) logout(c *gin.Context) {
	if s, err := ginsession.Get(c); err == nil {
		demo.Logout(s)
		jsonBody(c, http.StatusOK, demo.LogoutBody{Destroyed: true})
	}
}

// key returns the validated :key of a /api/values route, or answers 400
// and reports false.
func key(c *gin.Context) (string, bool) {
	k := c.Param("key")
	if err := demo.ValidateKey(k); err != nil {
		badRequest(c, err)
		return "", false
	}
	return k, true
}

func (h handlers) putValue(c *gin.Context) {
	k, ok := key(c)
	if !ok {
		return
	}
	val, err := demo.ReadValue(c.Request.Body)
	if err != nil {
		badRequest(c, err)
		return
	}
	if s, err := ginsession.Get(c); err == nil {
		demo.PutValue(s, k, string(val))
		c.Status(http.StatusNoContent)
	}
}

func (h handlers) getValue(c *gin.Context) {
	k, ok := key(c)
	if !ok {
		return
	}
	s, err := ginsession.Get(c)
	if err != nil {
		return
	}
	val, found := demo.GetValue(s, k)
	if !found {
		jsonBody(c, http.StatusNotFound, demo.ErrorBody{Error: demo.ErrNoValue.Error()})
		return
	}
	c.Data(http.StatusOK, demo.ContentTypeText, []byte(val))
}

func (h handlers) deleteValue(c *gin.Context) {
	k, ok := key(c)
	if !ok {
		return
	}
	if s, err := ginsession.Get(c); err == nil {
		demo.DeleteValue(s, k)
		c.Status(http.StatusNoContent)
	}
}

// stream writes to the session, then streams lines; the middleware commits
// the session (and sets the cookie) when the headers go out.
func (h handlers) stream(c *gin.Context) {
	s, err := ginsession.Get(c)
	if err != nil {
		return
	}
	demo.MarkStream(s)
	c.Header("Content-Type", demo.ContentTypeText)
	c.Header("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	c.Status(http.StatusOK)
	// An error means the client left; the response is already under way.
	_ = h.app.Stream(c.Request.Context(), c.Writer, func() error { c.Writer.Flush(); return nil })
}
