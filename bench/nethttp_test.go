package bench

import (
	"net/http"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
)

// nethttpSubjects: the bare net/http ServeMux, sessionkit's httpsession, and alexedwards/scs, the
// established session manager for net/http, with its memory store and its
// redigo-based Redis store.
var nethttpSubjects = []subject{
	{fw: "nethttp", lib: "floor", build: func(tb env) *target {
		mux := nethttpMux(func(sc *scenario) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if sc.kind == kindUntouched {
					w.Write(okBody)
					return
				}
				nethttpRespond(w, sc.floorBody(), true)
			}
		})
		return nethttpTarget(mux, "", nil, true)
	}},
	{fw: "nethttp", lib: "sessionkit", store: "mem", build: func(tb env) *target {
		return sessionkitNethttp(newManager(tb, false))
	}},
	{fw: "nethttp", lib: "sessionkit", store: "redis", build: func(tb env) *target {
		return sessionkitNethttp(newManager(tb, true))
	}},
	{fw: "nethttp", lib: "scs", store: "mem", build: func(tb env) *target {
		return scsTarget(newSCS(tb, nil), nil)
	}},
	{fw: "nethttp", lib: "scs", store: "redis", build: func(tb env) *target {
		pool, rm := redigoPool(tb)
		m := newSCS(tb, redisstore.NewWithPrefix(pool, "bench:scs:"))
		m.Lifetime = redisLifetime
		return scsTarget(m, rm)
	}},
}

// nethttpMux mounts the handler h makes for every route.
func nethttpMux(h func(sc *scenario) http.HandlerFunc) *http.ServeMux {
	mux := http.NewServeMux()
	for _, sc := range routes {
		mux.Handle("GET "+sc.path, h(sc))
	}
	return mux
}

func nethttpTarget(h http.Handler, cookieName string, rm *redisMeter, floor bool) *target {
	return &target{
		newClient: func(path string) client { return newHTTPClient(h, cookieName, path) },
		redis:     rm,
		floor:     floor,
	}
}

// nethttpRespond answers body, or 500 when the session held a wrong value.
func nethttpRespond(w http.ResponseWriter, body int, ok bool) {
	if !ok {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(wrongBody)
		return
	}
	w.Write(appendBody(nil, body))
}

func sessionkitNethttp(m *session.Manager, rm *redisMeter) *target {
	mux := nethttpMux(func(sc *scenario) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if sc.kind == kindUntouched {
				w.Write(okBody)
				return
			}
			s, err := httpsession.Get(r)
			body, ok := sessionkitStep(sc, s, err)
			nethttpRespond(w, body, ok)
		}
	})
	return nethttpTarget(httpsession.Middleware(m)(mux), m.CookieName(), rm, false)
}

// newSCS returns an scs manager keeping sessions in store, or in a memory
// store when store is nil. That memory store runs no sweeper goroutine:
// one would keep the store, and every session a run stored, alive after
// the run (scs's StopCleanup races with the sweeper's start), and a sweep
// once a minute changes nothing per request.
func newSCS(_ env, store scs.Store) *scs.SessionManager {
	m := scs.New()
	if store == nil {
		store = memstore.NewWithCleanupInterval(0)
	}
	m.Store = store
	return m
}

func scsTarget(m *scs.SessionManager, rm *redisMeter) *target {
	mux := nethttpMux(func(sc *scenario) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if sc.kind == kindUntouched {
				w.Write(okBody)
				return
			}
			ctx := r.Context()
			var held any
			if sc.reads {
				held = m.Get(ctx, valueKey)
			}
			next, store, body, ok := sc.step(held)
			if store {
				m.Put(ctx, valueKey, next)
			}
			nethttpRespond(w, body, ok)
		}
	})
	return nethttpTarget(m.LoadAndSave(mux), m.Cookie.Name, rm, false)
}
