package bench

import (
	"net/http"

	"github.com/boj/redistore"
	"github.com/gorilla/sessions"
	echocontrib "github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/stretchr/testify/require"
)

// echoSubjects: a bare echo server, sessionkit's echosession, and echo-contrib's session middleware,
// the established one for echo, with gorilla's CookieStore and, for the
// Redis rows, the redigo-based boj/redistore.
var echoSubjects = []subject{
	{fw: "echo", lib: "floor", build: func(tb env) *target {
		e := echoServer(nil, func(sc *scenario) echo.HandlerFunc {
			return func(c echo.Context) error {
				if sc.kind == kindUntouched {
					return c.Blob(http.StatusOK, textPlain, okBody)
				}
				return echoRespond(c, sc.floorBody(), true)
			}
		})
		return nethttpTarget(e, "", nil, true)
	}},
	{fw: "echo", lib: "sessionkit", store: "mem", build: func(tb env) *target {
		return sessionkitEcho(newManager(tb, false))
	}},
	{fw: "echo", lib: "sessionkit", store: "redis", build: func(tb env) *target {
		return sessionkitEcho(newManager(tb, true))
	}},
	{fw: "echo", lib: "echo-contrib", store: "cookie", build: func(tb env) *target {
		return echoContribTarget(sessions.NewCookieStore(cookieKey), nil)
	}},
	{fw: "echo", lib: "echo-contrib", store: "redis", build: func(tb env) *target {
		pool, rm := redigoPool(tb)
		store, err := redistore.NewRediStoreWithPool(pool, cookieKey)
		require.NoError(tb, err)
		store.SetKeyPrefix("bench:echo:")
		store.SetMaxAge(int(redisLifetime.Seconds()))
		return echoContribTarget(store, rm)
	}},
}

// echoServer returns a server that takes the client IP from the connection
// only, uses mw and mounts the handler h makes for every route.
func echoServer(mw []echo.MiddlewareFunc, h func(sc *scenario) echo.HandlerFunc) *echo.Echo {
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(mw...)
	for _, sc := range routes {
		e.GET(sc.path, h(sc))
	}
	return e
}

// echoRespond answers body, or 500 when the session held a wrong value.
func echoRespond(c echo.Context, body int, ok bool) error {
	if !ok {
		return c.Blob(http.StatusInternalServerError, textPlain, wrongBody)
	}
	return c.Blob(http.StatusOK, textPlain, appendBody(nil, body))
}

func sessionkitEcho(m *session.Manager, rm *redisMeter) *target {
	e := echoServer([]echo.MiddlewareFunc{echosession.Middleware(m)}, func(sc *scenario) echo.HandlerFunc {
		return func(c echo.Context) error {
			if sc.kind == kindUntouched {
				return c.Blob(http.StatusOK, textPlain, okBody)
			}
			s, err := echosession.Get(c)
			if err != nil {
				return err
			}
			body, ok := sessionkitStep(sc, s, nil)
			return echoRespond(c, body, ok)
		}
	})
	return nethttpTarget(e, m.CookieName(), rm, false)
}

func echoContribTarget(store sessions.Store, rm *redisMeter) *target {
	e := echoServer([]echo.MiddlewareFunc{echocontrib.Middleware(store)}, func(sc *scenario) echo.HandlerFunc {
		return func(c echo.Context) error {
			if sc.kind == kindUntouched {
				return c.Blob(http.StatusOK, textPlain, okBody)
			}
			s, err := echocontrib.Get(anchorCookie, c)
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
			return echoRespond(c, body, ok)
		}
	})
	return nethttpTarget(e, anchorCookie, rm, false)
}
