// Command echo is the sessionkit demo app on Echo v4 with the echosession
// middleware.
//
//	go run ./examples/echo [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...]
//
// Everything but the routes lives in examples/internal/demo; see its
// documentation for the routes and flags.
package main

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
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
	// Errors, a session store failure among them, go through echo's error
	// handler: 5xx are logged, the client gets no internal detail.
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if !errors.As(err, &he) || he.Code >= 500 {
			app.LogError(c.Request().Method, c.Request().URL.Path, err)
		}
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.Use(echosession.Middleware(app.Manager))

	h := handlers{app}
	e.GET("/", h.page)
	e.POST("/login", h.formLogin)
	e.POST("/logout", h.formLogout)
	e.GET("/api/session", h.countView)
	e.GET("/api/peek", h.peek)
	e.POST("/api/login", h.login)
	e.POST("/api/logout", h.logout)
	e.PUT("/api/values/:key", h.putValue)
	e.GET("/api/values/:key", h.getValue)
	e.DELETE("/api/values/:key", h.deleteValue)
	e.GET("/api/stream", h.stream)
	e.GET("/healthz", func(c echo.Context) error {
		return c.Blob(http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
	})
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

func jsonBody(c echo.Context, status int, v any) error {
	return c.Blob(status, demo.ContentTypeJSON, demo.JSON(v))
}

func badRequest(c echo.Context, err error) error {
	return jsonBody(c, http.StatusBadRequest, demo.ErrorBody{Error: err.Error()})
}

// Every handler returns echosession.Get's error as it is: an
// *echo.HTTPError 500 that e.HTTPErrorHandler answers.

func (h handlers) page(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	page, err := h.app.Page(demo.CountView(s))
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, demo.ContentTypeHTML, page)
}

// formUser returns the user field of the form body. (c.FormValue would
// also read the query string; the demos take the form body only.)
func formUser(c echo.Context) string { return c.Request().PostFormValue("user") }

func (h handlers) formLogin(c echo.Context) error {
	user := formUser(c)
	if err := demo.ValidateUser(user); err != nil {
		return c.Blob(http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	demo.Login(s, user)
	return c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) formLogout(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	demo.Logout(s)
	return c.Redirect(http.StatusSeeOther, "/")
}

func (h handlers) countView(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	return jsonBody(c, http.StatusOK, demo.CountView(s))
}

func (h handlers) peek(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	return jsonBody(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) login(c echo.Context) error {
	user := formUser(c)
	if err := demo.ValidateUser(user); err != nil {
		return badRequest(c, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	return jsonBody(c, http.StatusOK, demo.Login(s, user))
}

func (h handlers) logout(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	demo.Logout(s)
	return jsonBody(c, http.StatusOK, demo.LogoutBody{Destroyed: true})
}

func (h handlers) putValue(c echo.Context) error {
	key := c.Param("key")
	if err := demo.ValidateKey(key); err != nil {
		return badRequest(c, err)
	}
	val, err := demo.ReadValue(c.Request().Body)
	if err != nil {
		return badRequest(c, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	demo.PutValue(s, key, string(val))
	return c.NoContent(http.StatusNoContent)
}

func (h handlers) getValue(c echo.Context) error {
	key := c.Param("key")
	if err := demo.ValidateKey(key); err != nil {
		return badRequest(c, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	val, ok := demo.GetValue(s, key)
	if !ok {
		return jsonBody(c, http.StatusNotFound, demo.ErrorBody{Error: demo.ErrNoValue.Error()})
	}
	return c.Blob(http.StatusOK, demo.ContentTypeText, []byte(val))
}

func (h handlers) deleteValue(c echo.Context) error {
	key := c.Param("key")
	if err := demo.ValidateKey(key); err != nil {
		return badRequest(c, err)
	}
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	demo.DeleteValue(s, key)
	return c.NoContent(http.StatusNoContent)
}

// stream writes to the session, then streams lines; the middleware commits
// the session (and sets the cookie) when the headers go out.
func (h handlers) stream(c echo.Context) error {
	s, err := echosession.Get(c)
	if err != nil {
		return err
	}
	demo.MarkStream(s)
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, demo.ContentTypeText)
	res.Header().Set("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	res.WriteHeader(http.StatusOK)
	// An error means the client left; the response is already under way.
	_ = h.app.Stream(c.Request().Context(), res, func() error { res.Flush(); return nil })
	return nil
}
