package sessiontest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// The adapter suite's cases about several Managers on one route and about
// the error contract of the accessors.

// managerSets holds the Managers of the running cases, by the name the
// kit's client passes to DoFor in the query as ms=NAME, so that the
// adapter's route needs nothing but its accessor.
var (
	managerSetSeq atomic.Uint64
	managerSets   sync.Map // name → []*session.Manager
)

// DoFor performs the kit operation op, as Do does, on the session of each
// Manager the query q names, in turn, and answers with the status of the
// last and the bodies joined by "|". get is the adapter's accessor for the
// session of a given Manager (GetFor). On get's first error DoFor stops
// and returns it: the route takes the framework's error path, as the
// kit's other routes do. Adapters mount it as
//
//	GET and POST /for/{op}   answer DoFor(op, query, header, get) as
//	                         text/plain; on an error take the error path
//
// and TestAdapter calls it on a route with two session middlewares (see
// Adapter.ServeTwo), naming the Managers in the query: m=0,1 for the outer
// and the inner one, m=2 for one whose middleware is on no route.
func DoFor(op string, q url.Values, header func(key, value string), get func(*session.Manager) (*session.Session, error)) (status int, body string, err error) {
	v, ok := managerSets.Load(q.Get("ms"))
	if !ok {
		return http.StatusNotFound, "no such kit Managers", nil
	}
	ms := v.([]*session.Manager)
	var bodies []string
	for _, f := range strings.Split(q.Get("m"), ",") {
		i, err := strconv.Atoi(f)
		if err != nil || i < 0 || i >= len(ms) {
			return http.StatusNotFound, "no such kit Manager", nil
		}
		s, err := get(ms[i])
		if err != nil {
			return 0, "", err
		}
		var b string
		status, b = Do(s, op, q, header)
		bodies = append(bodies, b)
	}
	return status, strings.Join(bodies, "|"), nil
}

// registerManagers makes ms reachable by DoFor until the test ends, and
// returns the query parameter that names them.
func registerManagers(t *testing.T, ms ...*session.Manager) string {
	name := strconv.FormatUint(managerSetSeq.Add(1), 10)
	managerSets.Store(name, ms)
	t.Cleanup(func() { managerSets.Delete(name) })
	return "ms=" + name
}

// corruptStore serves a record no codec can read while corrupt is set.
type corruptStore struct {
	session.VersionedStore
	corrupt atomic.Bool
}

func (s *corruptStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.VersionedStore.Get(ctx, key)
	if err == nil && s.corrupt.Load() {
		return []byte("\xff\xfenot a session record"), nil
	}
	return b, err
}

func (s *corruptStore) GetVersion(ctx context.Context, key string) ([]byte, uint64, error) {
	b, v, err := s.VersionedStore.GetVersion(ctx, key)
	if err == nil && s.corrupt.Load() {
		return []byte("\xff\xfenot a session record"), v, nil
	}
	return b, v, err
}

// wantErrorResponse fails the test unless r is the error response every
// adapter answers a session error with: a 500 without detail, cookie or
// anything the handler wrote after the error, that no cache keeps.
func (r *result) wantErrorResponse(t *testing.T, what string) {
	t.Helper()
	if r.status != session.ErrorStatus || strings.TrimSpace(r.body) != strings.TrimSpace(session.ErrorBody) {
		t.Fatalf("%s: got %d %q, want %d %q", what, r.status, r.body, session.ErrorStatus, session.ErrorBody)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("%s: the error response has Content-Type %q, want text/plain", what, ct)
	}
	if cc := r.header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Errorf("%s: the error response has Cache-Control %q, want no-store", what, cc)
	}
	r.noCookie(t)
}

// testAccessorErrors checks that a session the store cannot give, because
// it is down or holds a corrupt record, takes the error path with the one
// error response, without the handler's later output, and loses nothing.
func testAccessorErrors(t *testing.T, start func(*testing.T, *session.Manager) string) {
	t.Run("AccessorErrorsAnswerTheErrorResponse", func(t *testing.T) {
		corrupt := &corruptStore{VersionedStore: testenv.MemoryStore(t)}
		fail := testenv.NewFailingStore(corrupt)
		m, err := session.NewManager(session.WithStore(fail), session.WithLogger(discardLogger))
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t, start(t, m))
		c.do(t, "POST", "/kit/set?k=a&v=1", nil).want(t, 200, "ok")
		for what, breakIt := range map[string]func(bool){"store down": fail.SetDown, "corrupt record": corrupt.corrupt.Store} {
			breakIt(true)
			c.do(t, "GET", "/kit/get?k=a", nil).wantErrorResponse(t, what)
			c.do(t, "POST", "/kit/set?k=a&v=2", nil).wantErrorResponse(t, what)
			breakIt(false)
		}
		c.do(t, "GET", "/kit/get?k=a", nil).want(t, 200, "1")
	})
}

// testTwoManagers checks two session middlewares on one route, as for a
// login session and a long-lived preferences session: each commits its own
// session before the headers with its own cookie, each keeps its own
// values, destroying one leaves the other, Get is the inner one, and a
// Manager without a middleware on the route takes the error path.
func testTwoManagers(t *testing.T, a Adapter, newManager func(t *testing.T, opts ...session.Option) (*session.Manager, *testenv.CountingStore, *testenv.FailingStore)) {
	t.Run("TwoManagersOnOneRoute", func(t *testing.T) {
		if a.ServeTwo == nil {
			t.Fatal("sessiontest: Adapter.ServeTwo is nil: serve the kit's routes behind two session middlewares")
		}
		outer, oc, _ := newManager(t, session.WithCookieName("kit-login"))
		inner, ic, _ := newManager(t, session.WithCookieName("kit-prefs"), session.WithPersistentCookie(true))
		none, _, _ := newManager(t, session.WithCookieName("kit-none"))
		ms := registerManagers(t, outer, inner, none)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		a.ServeTwo(t, outer, inner, ln)
		c := newClient(t, "http://"+ln.Addr().String())

		c.do(t, "GET", "/untouched", nil).noCookie(t)
		if n := oc.Total() + ic.Total(); n != 0 {
			t.Fatalf("an untouched request made %d store calls", n)
		}
		r := c.do(t, "POST", "/for/set?m=0,1&k=both&v=1&"+ms, nil)
		r.want(t, 200, "ok|ok")
		login, prefs := r.cookie(t, "kit-login"), r.cookie(t, "kit-prefs")
		if !session.ValidID(login.Value) || !session.ValidID(prefs.Value) || login.Value == prefs.Value {
			t.Fatalf("the two sessions' cookies are %q: want two valid, different IDs", r.setCookies)
		}
		if login.MaxAge != 0 || prefs.MaxAge <= 0 {
			t.Fatalf("cookies %q: want a browser-session login cookie and a persistent prefs cookie", r.setCookies)
		}
		c.do(t, "POST", "/for/set?m=0&k=who&v=login&"+ms, nil).want(t, 200, "ok")
		c.do(t, "POST", "/for/set?m=1&k=who&v=prefs&"+ms, nil).want(t, 200, "ok")
		c.do(t, "GET", "/for/get?m=0&k=who&"+ms, nil).want(t, 200, "login")
		c.do(t, "GET", "/for/get?m=1&k=who&"+ms, nil).want(t, 200, "prefs")
		c.do(t, "GET", "/for/get?m=0,1&k=both&"+ms, nil).want(t, 200, "1|1")
		c.do(t, "GET", "/kit/get?k=who", nil).want(t, 200, "prefs") // Get is the inner middleware's
		if no, ni := liveRecords(t, outer.Store()), liveRecords(t, inner.Store()); no != 1 || ni != 1 {
			t.Fatalf("the stores hold %d and %d records, want one session each", no, ni)
		}

		r = c.do(t, "POST", "/for/destroy?m=0&"+ms, nil)
		r.want(t, 200, "ok")
		if ck := r.cookie(t, "kit-login"); ck.MaxAge >= 0 {
			t.Fatalf("destroy: Set-Cookie %q, want the login cookie expired", r.setCookies)
		}
		if cookieByName(r.parsed, "kit-prefs") != nil {
			t.Fatalf("destroying the login session touched the prefs cookie: %q", r.setCookies)
		}
		c.do(t, "GET", "/for/get?m=0&k=who&"+ms, nil).want(t, 404, "missing")
		c.do(t, "GET", "/for/get?m=1&k=who&"+ms, nil).want(t, 200, "prefs")
		if no, ni := liveRecords(t, outer.Store()), liveRecords(t, inner.Store()); no != 0 || ni != 1 {
			t.Fatalf("after destroying the login session the stores hold %d and %d records, want 0 and 1", no, ni)
		}

		c.do(t, "GET", "/for/get?m=2&k=who&"+ms, nil).wantErrorResponse(t, "a Manager without a middleware on the route")
		c.do(t, "GET", "/for/get?m=1&k=who&"+ms, nil).want(t, 200, "prefs")
	})
}

// discardLogger keeps the suite's expected errors out of the test output.
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
