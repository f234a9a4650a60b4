package fasthttpsession

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// testFramework is a Framework over bare fasthttp: the request context is
// the *fasthttp.RequestCtx itself, the rest of the chain a user value.
type testFramework struct{}

type (
	nextKey    struct{} // the user value holding the rest of the chain
	userCtxKey struct{} // the user value holding the user context
)

// testError is the framework's error type that ErrorAs gives.
type testError struct{ code int }

func (e *testError) Error() string { return http.StatusText(e.code) }

// testTimeout is testFramework's StoreTimeout.
const testTimeout = 2 * time.Second

func (testFramework) Next(c *fasthttp.RequestCtx) error {
	return c.UserValue(nextKey{}).(func(*fasthttp.RequestCtx) error)(c)
}

func (testFramework) RequestCtx(c *fasthttp.RequestCtx) *fasthttp.RequestCtx { return c }

func (testFramework) UserContext(c *fasthttp.RequestCtx) context.Context {
	if ctx, ok := c.UserValue(userCtxKey{}).(context.Context); ok {
		return ctx
	}
	return context.Background()
}

func (testFramework) IP(c *fasthttp.RequestCtx) string { return c.RemoteIP().String() }

func (testFramework) ErrorAs(target any) bool {
	p, ok := target.(**testError)
	if ok {
		*p = &testError{http.StatusInternalServerError}
	}
	return ok
}

func (testFramework) StoreTimeout() time.Duration { return testTimeout }

// newCtx returns a request from remote carrying the Cookie header cookie
// (none if "").
func newCtx(remote net.Addr, cookie string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI("/")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rc := new(fasthttp.RequestCtx)
	rc.Init(&req, remote, nil)
	return rc
}

// validID is a well-formed session ID that no store holds.
var validID = strings.Repeat("A", session.IDLength)

var client = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}

// serve runs h behind the middlewares of ms (the first outermost) on rc,
// then lets fasthttp drop the request's values, closing the states.
func serve(rc *fasthttp.RequestCtx, h func(*fasthttp.RequestCtx) error, ms ...*session.Manager) error {
	next := h
	for i := len(ms) - 1; i >= 0; i-- {
		mw, inner := Middleware[testFramework](ms[i]), next
		next = func(c *fasthttp.RequestCtx) error {
			c.SetUserValue(nextKey{}, inner)
			return mw(c)
		}
	}
	err := next(rc)
	rc.ResetUserValues()
	return err
}

// newManager returns a Manager over a MemoryStore, closed with the test,
// whose log goes to the returned buffer.
func newManager(t *testing.T, opts ...session.Option) (*session.Manager, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	m, err := session.NewManager(append([]session.Option{session.WithLogger(slog.New(slog.NewTextHandler(&log, nil)))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m, &log
}

func TestRoundTrip(t *testing.T) {
	m, _ := newManager(t)
	rc := newCtx(client, "")
	require.NoError(t, serve(rc, func(c *fasthttp.RequestCtx) error {
		sess, err := GetFor[testFramework](c, nil)
		require.NoError(t, err)
		sess.Set("n", 1)
		return nil
	}, m))
	ck, err := http.ParseSetCookie(string(rc.Response.Header.Peek("Set-Cookie")))
	require.NoError(t, err, "the commit sets the cookie before the response goes out")

	rc = newCtx(client, "other=x; "+ck.Name+"="+ck.Value)
	var n int
	require.NoError(t, serve(rc, func(c *fasthttp.RequestCtx) error {
		sess, err := GetFor[testFramework](c, nil)
		require.NoError(t, err)
		n, _ = session.GetAs[int](sess, "n")
		return nil
	}, m))
	assert.Equal(t, 1, n, "the second request loads the session by its cookie")
}

func TestHandlerErrorPassesThrough(t *testing.T) {
	m, _ := newManager(t)
	rc := newCtx(client, "")
	want := errors.New("handler")
	err := serve(rc, func(c *fasthttp.RequestCtx) error {
		sess, err := GetFor[testFramework](c, nil)
		require.NoError(t, err)
		sess.Set("n", 1)
		return want
	}, m)
	assert.Same(t, want, err)
	assert.NotEmpty(t, rc.Response.Header.Peek("Set-Cookie"), "the session is committed all the same")
}

func TestCookies(t *testing.T) {
	rc := newCtx(client, "s=one; o=x; s=two")
	x := &state[testFramework, *fasthttp.RequestCtx]{c: rc}
	assert.Equal(t, []string{"one", "two"}, x.Cookies("s"), "every value, in the client's order")
	assert.Empty(t, x.Cookies("none"))
	assert.Zero(t, testing.AllocsPerRun(100, func() { x.Cookies("s") }), "two values fit in the state")
}

func TestHeaders(t *testing.T) {
	rc := newCtx(client, "")
	rc.Request.Header.Set("User-Agent", "test-agent")
	x := &state[testFramework, *fasthttp.RequestCtx]{c: rc}
	assert.Equal(t, "test-agent", x.Header("User-Agent"))
	assert.Empty(t, x.Header("X-Missing"))
	x.SetHeader("X-Token", "a")
	x.SetHeader("X-Token", "b")
	assert.Equal(t, "b", string(rc.Response.Header.Peek("X-Token")), "SetHeader replaces")
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remote net.Addr
		want   string
	}{
		{"IPv4", client, "192.0.2.1"},
		{"IPv6", &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, "2001:db8::1"},
		{"ZonedIPv6", &net.TCPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0", Port: 1}, "fe80::1%eth0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &state[testFramework, *fasthttp.RequestCtx]{c: newCtx(tc.remote, "")}
			assert.Equal(t, tc.want, x.ClientIP())
		})
	}
}

// requireErrorResponse checks that err is a session error with cause want
// and that rc holds the error response.
func requireErrorResponse(t *testing.T, rc *fasthttp.RequestCtx, err, want error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, want)
	assert.Equal(t, "Internal Server Error", err.Error(), "no detail for the client")
	var fe *testError
	require.ErrorAs(t, err, &fe, "the framework's ErrorHandler finds its error")
	assert.Equal(t, http.StatusInternalServerError, fe.code)
	assert.Equal(t, session.ErrorStatus, rc.Response.StatusCode())
	assert.Empty(t, rc.Response.Body(), "the handler's body is dropped")
	assert.Equal(t, "no-store", string(rc.Response.Header.Peek("Cache-Control")))
}

func TestNoMiddleware(t *testing.T) {
	rc := newCtx(client, "")
	rc.SetBodyString("handler's")
	_, err := GetFor[testFramework](rc, nil)
	requireErrorResponse(t, rc, err, session.ErrNoMiddleware)
}

func TestOtherManagersMiddleware(t *testing.T) {
	m, log := newManager(t)
	other, _ := newManager(t)
	rc := newCtx(client, "")
	var getErr error
	err := serve(rc, func(c *fasthttp.RequestCtx) error {
		_, getErr = GetFor[testFramework](c, other)
		c.SetBodyString("the handler goes on")
		return nil // ignoring the error does not save the response
	}, m)
	assert.ErrorIs(t, getErr, session.ErrNoMiddleware)
	requireErrorResponse(t, rc, err, session.ErrNoMiddleware)
	assert.Equal(t, 1, strings.Count(log.String(), "session error"), "logged once")
}

func TestNestedMiddlewares(t *testing.T) {
	outer, _ := newManager(t, session.WithCookieName("outer"))
	inner, _ := newManager(t, session.WithCookieName("inner"))
	rc := newCtx(client, "")
	require.NoError(t, serve(rc, func(c *fasthttp.RequestCtx) error {
		s, err := GetFor[testFramework](c, nil)
		require.NoError(t, err)
		s.Set("who", "inner")
		s, err = GetFor[testFramework](c, outer)
		require.NoError(t, err)
		s.Set("who", "outer")
		s, err = GetFor[testFramework](c, inner)
		require.NoError(t, err)
		who, _ := session.GetAs[string](s, "who")
		assert.Equal(t, "inner", who, "a nil Manager is the innermost's")
		return nil
	}, outer, inner))
	var names []string
	rc.Response.Header.VisitAllCookie(func(name, _ []byte) { names = append(names, string(name)) })
	assert.ElementsMatch(t, []string{"inner", "outer"}, names, "each middleware commits its own")
}

// failingStore fails every call.
type failingStore struct{}

var errBroken = errors.New("broken")

func (failingStore) Get(context.Context, string) ([]byte, error)          { return nil, errBroken }
func (failingStore) Set(context.Context, string, []byte, time.Time) error { return errBroken }
func (failingStore) Delete(context.Context, string) error                 { return errBroken }

func TestLoadFailure(t *testing.T) {
	m, log := newManager(t, session.WithStore(failingStore{}))
	rc := newCtx(client, session.DefaultCookieName+"="+validID) // so that the store is asked
	err := serve(rc, func(c *fasthttp.RequestCtx) error {
		for range 2 {
			_, err := GetFor[testFramework](c, nil)
			assert.ErrorIs(t, err, session.ErrStore)
		}
		return nil
	}, m)
	requireErrorResponse(t, rc, err, errBroken)
	assert.Equal(t, 1, strings.Count(log.String(), "session error"), "logged once however often Get fails")
}

func TestCommitFailure(t *testing.T) {
	m, log := newManager(t, session.WithStore(failingStore{}))
	rc := newCtx(client, "") // no cookie: a new session, nothing to load
	err := serve(rc, func(c *fasthttp.RequestCtx) error {
		sess, err := GetFor[testFramework](c, nil)
		require.NoError(t, err)
		sess.Set("n", 1)
		c.SetBodyString("welcome")
		return nil
	}, m)
	requireErrorResponse(t, rc, err, errBroken)
	assert.Empty(t, rc.Response.Header.Peek("Set-Cookie"))
	assert.Equal(t, 1, strings.Count(log.String(), "session error"))
}

// deadlineStore records the deadline of its last Get's context.
type deadlineStore struct {
	session.Store
	deadline time.Time
	bounded  bool
}

func (s *deadlineStore) Get(ctx context.Context, key string) ([]byte, error) {
	s.deadline, s.bounded = ctx.Deadline()
	return s.Store.Get(ctx, key)
}

func TestStoreCallBound(t *testing.T) {
	userDeadline := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name    string
		opts    []session.Option
		userCtx context.Context
		want    time.Duration // from the store's look
	}{
		{name: "Default", want: testTimeout},
		{name: "UserDeadline", userCtx: contextWithDeadline(t, userDeadline), want: time.Until(userDeadline)},
		{name: "ManagerTimeout", opts: []session.Option{session.WithStoreTimeout(time.Minute)}, want: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem, err := session.NewMemoryStore()
			require.NoError(t, err)
			t.Cleanup(func() { mem.Close() })
			st := &deadlineStore{Store: mem}
			m, _ := newManager(t, append(tc.opts, session.WithStore(st))...)
			rc := newCtx(client, session.DefaultCookieName+"="+validID) // so that the store is asked
			if tc.userCtx != nil {
				rc.SetUserValue(userCtxKey{}, tc.userCtx)
			}
			require.NoError(t, serve(rc, func(c *fasthttp.RequestCtx) error {
				_, err := GetFor[testFramework](c, nil)
				return err
			}, m))
			require.True(t, st.bounded, "every store call has a deadline")
			assert.WithinDuration(t, time.Now().Add(tc.want), st.deadline, time.Second)
		})
	}
}

func contextWithDeadline(t *testing.T, d time.Time) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestBoundReuse(t *testing.T) {
	m, _ := newManager(t)
	x := &state[testFramework, *fasthttp.RequestCtx]{c: newCtx(client, "")}
	x.Init(m, x)

	first := x.Context()
	assert.Same(t, &x.bound, first, "the first store call's context is in the state")
	assert.Same(t, first, x.Context(), "an unstarted one serves the next call")

	before := time.Now()
	dl, ok := first.Deadline()
	require.True(t, ok)
	assert.WithinDuration(t, before.Add(testTimeout), dl, time.Second, "counted from the store's first look")
	require.NoError(t, first.Err(), "starts the timer")

	second := x.Context()
	assert.NotSame(t, first, second, "a started one is not reused")
	assert.ErrorIs(t, first.Err(), context.Canceled, "and its timer is stopped")
	require.NoError(t, second.Err())
	x.stopBound()
	assert.ErrorIs(t, second.Err(), context.Canceled, "the middleware releases the last timer")
}

func TestBoundValue(t *testing.T) {
	type key struct{}
	var b boundCtx[testFramework]
	b.reset(context.WithValue(context.Background(), key{}, "v"))
	assert.Equal(t, "v", b.Value(key{}))
	require.NotNil(t, b.Done(), "Done starts the timer")
	select {
	case <-b.Done():
		t.Fatal("done before its deadline")
	default:
	}
	b.stop()
	<-b.Done()
}
