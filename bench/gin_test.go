package bench

import (
	"net/http"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-contrib/sessions/memstore"
	ginredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/stretchr/testify/require"
)

// ginSubjects: a bare gin engine, sessionkit's ginsession, and gin-contrib/sessions, the established
// session middleware for gin, with its memory store, its cookie store and
// its redigo-based Redis store (boj/redistore).
var ginSubjects = []subject{
	{fw: "gin", lib: "floor", build: func(tb env) *target {
		e := ginEngine(nil, func(sc *scenario) gin.HandlerFunc {
			return func(c *gin.Context) {
				if sc.kind == kindUntouched {
					c.Data(http.StatusOK, textPlain, okBody)
					return
				}
				ginRespond(c, sc.floorBody(), true)
			}
		})
		return nethttpTarget(e, "", nil, true)
	}},
	{fw: "gin", lib: "sessionkit", store: "mem", build: func(tb env) *target {
		return sessionkitGin(newManager(tb, false))
	}},
	{fw: "gin", lib: "sessionkit", store: "redis", build: func(tb env) *target {
		return sessionkitGin(newManager(tb, true))
	}},
	{fw: "gin", lib: "gin-contrib", store: "mem", build: func(tb env) *target {
		return ginContribTarget(memstore.NewStore(cookieKey), nil)
	}},
	{fw: "gin", lib: "gin-contrib", store: "cookie", build: func(tb env) *target {
		return ginContribTarget(cookie.NewStore(cookieKey), nil)
	}},
	{fw: "gin", lib: "gin-contrib", store: "redis", build: func(tb env) *target {
		pool, rm := redigoPool(tb)
		store, err := ginredis.NewStoreWithPool(pool, cookieKey)
		require.NoError(tb, err)
		require.NoError(tb, ginredis.SetKeyPrefix(store, "bench:gin:"))
		store.Options(sessions.Options{Path: "/", MaxAge: int(redisLifetime.Seconds()), HttpOnly: true})
		return ginContribTarget(store, rm)
	}},
}

// textPlain is the content type every gin, echo and fiber handler answers.
const textPlain = "text/plain; charset=utf-8"

// cookieKey signs the cookies of the gorilla-based anchors, as their
// documentation shows (authentication key only).
var cookieKey = []byte("sessionkit-bench-signing-key-32b")

// anchorCookie is the cookie name of the gorilla-based anchors.
const anchorCookie = "session"

func init() { gin.SetMode(gin.ReleaseMode) }

// ginEngine returns an engine that trusts no proxy, uses mw and mounts the
// handler h makes for every route.
func ginEngine(mw []gin.HandlerFunc, h func(sc *scenario) gin.HandlerFunc) *gin.Engine {
	e := gin.New()
	if err := e.SetTrustedProxies(nil); err != nil {
		panic(err)
	}
	e.Use(mw...)
	for _, sc := range routes {
		e.GET(sc.path, h(sc))
	}
	return e
}

// ginRespond answers body, or 500 when the session held a wrong value.
func ginRespond(c *gin.Context, body int, ok bool) {
	if !ok {
		c.Data(http.StatusInternalServerError, textPlain, wrongBody)
		return
	}
	c.Data(http.StatusOK, textPlain, appendBody(nil, body))
}

func sessionkitGin(m *session.Manager, rm *redisMeter) *target {
	e := ginEngine([]gin.HandlerFunc{ginsession.Middleware(m)}, func(sc *scenario) gin.HandlerFunc {
		return func(c *gin.Context) {
			if sc.kind == kindUntouched {
				c.Data(http.StatusOK, textPlain, okBody)
				return
			}
			s, err := ginsession.Get(c)
			if err != nil {
				return // Get answered 500
			}
			body, ok := sessionkitStep(sc, s, nil)
			ginRespond(c, body, ok)
		}
	})
	return nethttpTarget(e, m.CookieName(), rm, false)
}

func ginContribTarget(store sessions.Store, rm *redisMeter) *target {
	e := ginEngine([]gin.HandlerFunc{sessions.Sessions(anchorCookie, store)}, func(sc *scenario) gin.HandlerFunc {
		return func(c *gin.Context) {
			if sc.kind == kindUntouched {
				c.Data(http.StatusOK, textPlain, okBody)
				return
			}
			s := sessions.Default(c)
			var held any
			if sc.reads {
				held = s.Get(valueKey)
			}
			next, store, body, ok := sc.step(held)
			if store {
				s.Set(valueKey, next)
				ok = ok && s.Save() == nil
			}
			ginRespond(c, body, ok)
		}
	})
	return nethttpTarget(e, anchorCookie, rm, false)
}
