package bench

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	fibersessions "github.com/gofiber/fiber/v2/middleware/session"
	fiberredis "github.com/gofiber/storage/redis/v3"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
)

// fiberSubjects: a bare fiber app, sessionkit's fibersession, and fiber v2's own middleware/session
// with its default memory storage and, for the Redis rows, gofiber's
// go-redis-based storage. Fiber's session is a store the handler asks,
// not a middleware, so its untouched row costs what the floor costs.
var fiberSubjects = []subject{
	{fw: "fiber", lib: "floor", build: func(tb env) *target {
		app := fiberApp(tb, nil, func(sc *scenario) fiber.Handler {
			return func(c *fiber.Ctx) error {
				if sc.kind == kindUntouched {
					return c.Send(okBody)
				}
				return fiberRespond(c, sc.floorBody(), true)
			}
		})
		return fiberTarget(app, "", nil, true)
	}},
	{fw: "fiber", lib: "sessionkit", store: "mem", build: func(tb env) *target {
		m, rm := newManager(tb, false)
		return sessionkitFiber(tb, m, rm)
	}},
	{fw: "fiber", lib: "sessionkit", store: "redis", build: func(tb env) *target {
		m, rm := newManager(tb, true)
		return sessionkitFiber(tb, m, rm)
	}},
	{fw: "fiber", lib: "fiber-session", store: "mem", build: func(tb env) *target {
		return fiberSessionTarget(tb, fibersessions.New(), nil)
	}},
	{fw: "fiber", lib: "fiber-session", store: "redis", build: func(tb env) *target {
		rc, rm := goredisClient(tb)
		store := fibersessions.New(fibersessions.Config{Storage: fiberredis.NewFromConnection(rc), Expiration: redisLifetime})
		return fiberSessionTarget(tb, store, rm)
	}},
}

// fiberApp returns an app that uses mw and mounts the handler h makes for
// every route.
func fiberApp(tb env, mw []fiber.Handler, h func(sc *scenario) fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	for _, m := range mw {
		app.Use(m)
	}
	for _, sc := range routes {
		app.Get(sc.path, h(sc))
	}
	tb.Cleanup(func() { app.Shutdown() })
	return app
}

// fiberRespond answers body, or 500 when the session held a wrong value.
func fiberRespond(c *fiber.Ctx, body int, ok bool) error {
	c.Set(fiber.HeaderContentType, textPlain)
	if !ok {
		return c.Status(http.StatusInternalServerError).Send(wrongBody)
	}
	return c.Send(appendBody(nil, body))
}

func fiberTarget(app *fiber.App, cookieName string, rm *redisMeter, floor bool) *target {
	h := app.Handler()
	return &target{
		newClient: func(path string) client { return newFiberClient(h, cookieName, path) },
		redis:     rm,
		floor:     floor,
	}
}

func sessionkitFiber(tb env, m *session.Manager, rm *redisMeter) *target {
	app := fiberApp(tb, []fiber.Handler{fibersession.Middleware(m)}, func(sc *scenario) fiber.Handler {
		return func(c *fiber.Ctx) error {
			if sc.kind == kindUntouched {
				return c.Send(okBody)
			}
			s, err := fibersession.Get(c)
			if err != nil {
				return err
			}
			body, ok := sessionkitStep(sc, s, nil)
			return fiberRespond(c, body, ok)
		}
	})
	return fiberTarget(app, m.CookieName(), rm, false)
}

func fiberSessionTarget(tb env, store *fibersessions.Store, rm *redisMeter) *target {
	tb.Cleanup(func() { store.Storage.Close() })
	app := fiberApp(tb, nil, func(sc *scenario) fiber.Handler {
		return func(c *fiber.Ctx) error {
			if sc.kind == kindUntouched {
				return c.Send(okBody)
			}
			s, err := store.Get(c)
			if err != nil {
				return err
			}
			var held any
			if sc.reads {
				held = s.Get(valueKey)
			}
			next, doStore, body, ok := sc.step(held)
			if doStore {
				s.Set(valueKey, next)
				if err := s.Save(); err != nil {
					return err
				}
			}
			return fiberRespond(c, body, ok)
		}
	})
	return fiberTarget(app, "session_id", rm, false)
}

// fiberClient drives a fiber app in process: each request is parsed afresh
// from its raw bytes into a reused fasthttp.RequestCtx, so the framework's
// header and cookie parsing is measured too.
type fiberClient struct {
	h    fasthttp.RequestHandler
	name string // session cookie name, "" for the floor
	path string
	sent string // session cookie value sent, "" for none
	raw  []byte
	ctx  fasthttp.RequestCtx
	rd   bytes.Reader
	br   *bufio.Reader
}

func newFiberClient(h fasthttp.RequestHandler, cookieName, path string) *fiberClient {
	c := &fiberClient{h: h, name: cookieName, path: path}
	c.ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.ParseIP(clientIP), Port: 40000}, nil)
	c.br = bufio.NewReader(&c.rd)
	c.useCookie("")
	return c
}

func (c *fiberClient) do() (int, []byte, bool) {
	c.ctx.Request.Reset()
	c.ctx.Response.Reset()
	c.rd.Reset(c.raw)
	c.br.Reset(&c.rd)
	if err := c.ctx.Request.Read(c.br); err != nil {
		return 0, []byte(err.Error()), false
	}
	c.h(&c.ctx)
	// As fasthttp's server does once the response is out: the request's
	// values (c.Locals) must not reach the next request, and their Close
	// is part of the cost.
	c.ctx.ResetUserValues()
	return c.ctx.Response.StatusCode(), c.ctx.Response.Body(), len(c.setValue()) > 0
}

// setValue returns the session cookie value the last response set.
func (c *fiberClient) setValue() []byte {
	if c.name == "" {
		return nil
	}
	v := c.ctx.Response.Header.PeekCookie(c.name)
	if i := bytes.IndexByte(v, '='); i >= 0 {
		v = v[i+1:]
	}
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return v
}

func (c *fiberClient) cookie() string { return string(c.setValue()) }

func (c *fiberClient) adopt() {
	if v := c.setValue(); len(v) > 0 && string(v) != c.sent {
		c.useCookie(string(v))
	}
}

func (c *fiberClient) useCookie(v string) {
	c.sent = v
	var b strings.Builder
	b.WriteString("GET " + c.path + " HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: " + userAgent + "\r\n")
	if v != "" {
		b.WriteString("Cookie: " + c.name + "=" + v + "\r\n")
	}
	b.WriteString("\r\n")
	c.raw = []byte(b.String())
}

// countCloser counts the calls of its Close.
type countCloser struct{ n *int }

func (c countCloser) Close() error { *c.n++; return nil }
