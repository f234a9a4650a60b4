package bench

import (
	"net/http"

	"github.com/boj/redistore"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v5"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/stretchr/testify/require"
)

// echov5Subjects: a bare echo v5 server, sessionkit's echov5session, and
// gorilla/sessions used directly, as echo v5 users do: echo-contrib's
// session middleware, echo v4's anchor, has no release for echo v5 on the
// module proxy. gorilla's CookieStore and, for the Redis rows, the
// redigo-based boj/redistore, as on echo v4. gorilla's sessions are asked
// for by the handler, with no middleware, so the untouched row costs what
// the floor costs.
var echov5Subjects = []subject{
	{fw: "echov5", lib: "floor", build: func(tb env) *target {
		e := echov5Server(nil, func(sc *scenario) echo.HandlerFunc {
			return func(c *echo.Context) error {
				if sc.kind == kindUntouched {
					return c.Blob(http.StatusOK, textPlain, okBody)
				}
				return echov5Respond(c, sc.floorBody(), true)
			}
		})
		return nethttpTarget(e, "", nil, true)
	}},
	{fw: "echov5", lib: "sessionkit", store: "mem", build: func(tb env) *target {
		return sessionkitEchov5(newManager(tb, false))
	}},
	{fw: "echov5", lib: "sessionkit", store: "redis", build: func(tb env) *target {
		return sessionkitEchov5(newManager(tb, true))
	}},
	{fw: "echov5", lib: "gorilla", store: "cookie", build: func(tb env) *target {
		return gorillaEchov5Target(sessions.NewCookieStore(cookieKey), nil)
	}},
	{fw: "echov5", lib: "gorilla", store: "redis", build: func(tb env) *target {
		pool, rm := redigoPool(tb)
		store, err := redistore.NewRediStoreWithPool(pool, cookieKey)
		require.NoError(tb, err)
		store.SetKeyPrefix("bench:echov5:")
		store.SetMaxAge(int(redisLifetime.Seconds()))
		return gorillaEchov5Target(store, rm)
	}},
}

// echov5Server returns a server that uses mw and mounts the handler h
// makes for every route. With no IPExtractor, echo v5 takes the client IP
// from the connection only.
func echov5Server(mw []echo.MiddlewareFunc, h func(sc *scenario) echo.HandlerFunc) *echo.Echo {
	e := echo.New()
	e.Use(mw...)
	for _, sc := range routes {
		e.GET(sc.path, h(sc))
	}
	return e
}

// echov5Respond answers body, or 500 when the session held a wrong value.
func echov5Respond(c *echo.Context, body int, ok bool) error {
	if !ok {
		return c.Blob(http.StatusInternalServerError, textPlain, wrongBody)
	}
	return c.Blob(http.StatusOK, textPlain, appendBody(nil, body))
}

func sessionkitEchov5(m *session.Manager, rm *redisMeter) *target {
	e := echov5Server([]echo.MiddlewareFunc{echov5session.Middleware(m)}, func(sc *scenario) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if sc.kind == kindUntouched {
				return c.Blob(http.StatusOK, textPlain, okBody)
			}
			s, err := echov5session.Get(c)
			if err != nil {
				return err
			}
			body, ok := sessionkitStep(sc, s, nil)
			return echov5Respond(c, body, ok)
		}
	})
	return nethttpTarget(e, m.CookieName(), rm, false)
}

func gorillaEchov5Target(store sessions.Store, rm *redisMeter) *target {
	e := echov5Server(nil, func(sc *scenario) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if sc.kind == kindUntouched {
				return c.Blob(http.StatusOK, textPlain, okBody)
			}
			s, err := store.Get(c.Request(), anchorCookie)
			if err != nil {
				return err
			}
			var held any
			if sc.reads {
				held = s.Values[valueKey]
			}
			next, store, body, ok := sc.step(held)
			if store {
				s.Values[valueKey] = next
				if err := s.Save(c.Request(), c.Response()); err != nil {
					return err
				}
			}
			return echov5Respond(c, body, ok)
		}
	})
	return nethttpTarget(e, anchorCookie, rm, false)
}
