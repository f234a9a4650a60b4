package bench

import (
	"net/http"

	"github.com/gofiber/fiber/v3"
	fibersessionsv3 "github.com/gofiber/fiber/v3/middleware/session"
	fiberredis "github.com/gofiber/storage/redis/v3"
	fiberv3session "github.com/sessionkit/sessionkit/adapters/fiberv3"
	session "github.com/sessionkit/sessionkit/core"
)

// fiberv3Subjects: a bare fiber v3 app, sessionkit's fiberv3session, and
// fiber v3's own middleware/session with its default memory storage and,
// for the Redis rows, gofiber's go-redis-based storage (redis/v3, which
// implements fiber v3's context-taking Storage). The anchor uses the
// package's store pattern (store.Get, Save, Release), as fiber v2's row
// does: its middleware pattern loads and saves the session on every
// request, untouched ones too, and sets the cookie on each, which the
// harness's untouched check refuses; the store pattern is the same
// package's cheaper way, so the comparison errs in the anchor's favour.
var fiberv3Subjects = []subject{
	{fw: "fiberv3", lib: "floor", build: func(tb env) *target {
		app := fiberv3App(tb, nil, func(sc *scenario) fiber.Handler {
			return func(c fiber.Ctx) error {
				if sc.kind == kindUntouched {
					return c.Send(okBody)
				}
				return fiberv3Respond(c, sc.floorBody(), true)
			}
		})
		return fiberv3Target(app, "", nil, true)
	}},
	{fw: "fiberv3", lib: "sessionkit", store: "mem", build: func(tb env) *target {
		m, rm := newManager(tb, false)
		return sessionkitFiberv3(tb, m, rm)
	}},
	{fw: "fiberv3", lib: "sessionkit", store: "redis", build: func(tb env) *target {
		m, rm := newManager(tb, true)
		return sessionkitFiberv3(tb, m, rm)
	}},
	{fw: "fiberv3", lib: "fiber-session", store: "mem", build: func(tb env) *target {
		return fiberv3SessionTarget(tb, fibersessionsv3.NewStore(), nil)
	}},
	{fw: "fiberv3", lib: "fiber-session", store: "redis", build: func(tb env) *target {
		rc, rm := goredisClient(tb)
		store := fibersessionsv3.NewStore(fibersessionsv3.Config{
			Storage: fiberredis.NewFromConnection(rc), IdleTimeout: redisLifetime})
		return fiberv3SessionTarget(tb, store, rm)
	}},
}

// fiberv3App returns an app that uses mw and mounts the handler h makes
// for every route.
func fiberv3App(tb env, mw []fiber.Handler, h func(sc *scenario) fiber.Handler) *fiber.App {
	app := fiber.New()
	for _, m := range mw {
		app.Use(m)
	}
	for _, sc := range routes {
		app.Get(sc.path, h(sc))
	}
	tb.Cleanup(func() { app.Shutdown() })
	return app
}

// fiberv3Respond answers body, or 500 when the session held a wrong value.
func fiberv3Respond(c fiber.Ctx, body int, ok bool) error {
	c.Set(fiber.HeaderContentType, textPlain)
	if !ok {
		return c.Status(http.StatusInternalServerError).Send(wrongBody)
	}
	return c.Send(appendBody(nil, body))
}

func fiberv3Target(app *fiber.App, cookieName string, rm *redisMeter, floor bool) *target {
	h := app.Handler()
	return &target{
		newClient: func(path string) client { return newFiberClient(h, cookieName, path) },
		redis:     rm,
		floor:     floor,
	}
}

func sessionkitFiberv3(tb env, m *session.Manager, rm *redisMeter) *target {
	app := fiberv3App(tb, []fiber.Handler{fiberv3session.Middleware(m)}, func(sc *scenario) fiber.Handler {
		return func(c fiber.Ctx) error {
			if sc.kind == kindUntouched {
				return c.Send(okBody)
			}
			s, err := fiberv3session.Get(c)
			if err != nil {
				return err
			}
			body, ok := sessionkitStep(sc, s, nil)
			return fiberv3Respond(c, body, ok)
		}
	})
	return fiberv3Target(app, m.CookieName(), rm, false)
}

func fiberv3SessionTarget(tb env, store *fibersessionsv3.Store, rm *redisMeter) *target {
	tb.Cleanup(func() { store.Storage.Close() })
	app := fiberv3App(tb, nil, func(sc *scenario) fiber.Handler {
		return func(c fiber.Ctx) error {
			if sc.kind == kindUntouched {
				return c.Send(okBody)
			}
			s, err := store.Get(c)
			if err != nil {
				return err
			}
			defer s.Release()
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
			return fiberv3Respond(c, body, ok)
		}
	})
	return fiberv3Target(app, "session_id", rm, false)
}
