// Command fiber is the sessionkit demo app on fiber v2 with the
// fibersession middleware.
//
//	go run ./examples/fiber [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...]
//
// Everything but the routes lives in examples/internal/demo; see its
// documentation for the routes and flags.
//
// Fiber (fasthttp) reuses the memory behind c.Params, c.Body, c.FormValue
// and friends once the handler returns, so every value that goes into the
// session is copied first (utils.CopyString, string(bytes)).
package main

import (
	"bufio"
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

func main() { demo.Main("fiber", newServer) }

// newServer mounts the demo's routes on a fiber app behind the session
// middleware.
func newServer(app *demo.App) (demo.Server, error) {
	timeouts := app.Timeouts()
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true, // the runner logs where it listens
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
	// Guards before the session middleware, so that a request they refuse
	// never loads a session; the same rules, in the same order, as the
	// other demos' demo.LimitBodies and http.CrossOriginProtection.
	f.Use(limitBodies)
	f.Use(crossOriginProtection)
	f.Use(fibersession.Middleware(app.Manager))

	h := handlers{app}
	f.Get("/", h.page)
	f.Post("/login", h.formLogin)
	f.Post("/logout", h.formLogout)
	f.Get("/api/session", h.countView)
	f.Get("/api/peek", h.peek)
	f.Post("/api/login", h.login)
	f.Post("/api/logout", h.logout)
	f.Put("/api/values/:key", h.putValue)
	f.Get("/api/values/:key", h.getValue)
	f.Delete("/api/values/:key", h.deleteValue)
	f.Get("/api/stream", h.stream)
	f.Get("/healthz", func(c *fiber.Ctx) error {
		return send(c, http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
	})
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

// errorHandler answers the errors handlers return, a session store
// failure among them (fibersession.Get's error is a 500). Unlike
// fiber.DefaultErrorHandler, which sends err.Error() to the client, it
// answers a 5xx with its status text only, and logs it.
func errorHandler(app *demo.App) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		code, msg := fiber.StatusInternalServerError, ""
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code, msg = fe.Code, fe.Message
		}
		if code == fiber.StatusRequestEntityTooLarge {
			// fasthttp refused a body over Config.BodyLimit. It reset the
			// request if the body was chunked: the route is then unknown.
			if c.Request().Header.ContentLength() > 0 {
				return refuse(c, demo.TooLarge(c.Method(), c.Path()))
			}
			return refuse(c, demo.BodyTooLarge)
		}
		if code >= 500 {
			// fibersession logs its own failures with their cause (the
			// error it returns says only "Internal Server Error").
			if !errors.Is(err, session.ErrStore) && !errors.Is(err, session.ErrCorrupt) {
				app.LogError(c.Method(), c.Path(), err)
			}
			msg = utils.StatusMessage(code)
		}
		return send(c, code, demo.ContentTypeText, []byte(msg+"\n"))
	}
}

type handlers struct{ app *demo.App }

func send(c *fiber.Ctx, status int, contentType string, body []byte) error {
	c.Set(fiber.HeaderContentType, contentType)
	return c.Status(status).Send(body)
}

func jsonBody(c *fiber.Ctx, status int, v any) error {
	return send(c, status, demo.ContentTypeJSON, demo.JSON(v))
}

func badRequest(c *fiber.Ctx, err error) error {
	return jsonBody(c, http.StatusBadRequest, demo.ErrorBody{Error: err.Error()})
}

// Every handler returns fibersession.Get's error as it is: the error
// handler answers it with 500.

func (h handlers) page(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	page, err := h.app.Page(demo.CountView(s))
	if err != nil {
		return err
	}
	return send(c, http.StatusOK, demo.ContentTypeHTML, page)
}

// formUser returns a copy of the user field of the form body, urlencoded
// or multipart. (c.FormValue would also read the query string; the demos
// take the form body only.)
func formUser(c *fiber.Ctx) string {
	if form, err := c.MultipartForm(); err == nil {
		if v := form.Value["user"]; len(v) > 0 {
			return utils.CopyString(v[0])
		}
		return ""
	}
	return string(c.Request().PostArgs().Peek("user")) // string() copies
}

func (h handlers) formLogin(c *fiber.Ctx) error {
	user := formUser(c)
	if err := demo.ValidateUser(user); err != nil {
		return send(c, http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	demo.Login(s, user)
	return c.Redirect("/", http.StatusSeeOther)
}

func (h handlers) formLogout(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	demo.Logout(s)
	return c.Redirect("/", http.StatusSeeOther)
}

func (h handlers) countView(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	return jsonBody(c, http.StatusOK, demo.CountView(s))
}

func (h handlers) peek(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	return jsonBody(c, http.StatusOK, demo.Peek(s))
}

func (h handlers) login(c *fiber.Ctx) error {
	user := formUser(c)
	if err := demo.ValidateUser(user); err != nil {
		return badRequest(c, err)
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	return jsonBody(c, http.StatusOK, demo.Login(s, user))
}

func (h handlers) logout(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	demo.Logout(s)
	return jsonBody(c, http.StatusOK, demo.LogoutBody{Destroyed: true})
}

// key returns a copy of the :key of a /api/values route and whether it is
// valid; when it is not, it has answered 400.
func key(c *fiber.Ctx) (string, bool, error) {
	k := utils.CopyString(c.Params("key"))
	if err := demo.ValidateKey(k); err != nil {
		return "", false, badRequest(c, err)
	}
	return k, true, nil
}

func (h handlers) putValue(c *fiber.Ctx) error {
	k, ok, err := key(c)
	if !ok {
		return err
	}
	body := c.BodyRaw() // fiber's memory: valid during this handler only
	if err := demo.CheckValue(body); err != nil {
		return badRequest(c, err)
	}
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	demo.PutValue(s, k, string(body)) // string() copies
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
	val, found := demo.GetValue(s, k)
	if !found {
		return jsonBody(c, http.StatusNotFound, demo.ErrorBody{Error: demo.ErrNoValue.Error()})
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
	demo.DeleteValue(s, k)
	return c.SendStatus(http.StatusNoContent)
}

// stream writes to the session, then streams lines. The middleware
// commits the session (and sets the cookie) when the handler returns,
// before fasthttp sends the headers and runs the stream writer, which
// must not touch c or the session.
func (h handlers) stream(c *fiber.Ctx) error {
	s, err := fibersession.Get(c)
	if err != nil {
		return err
	}
	demo.MarkStream(s)
	c.Set(fiber.HeaderContentType, demo.ContentTypeText)
	c.Set("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		// The writer has no request context; a client that leaves makes
		// the write or flush fail, which ends the stream.
		_ = h.app.Stream(context.Background(), w, w.Flush)
	})
	return nil
}
