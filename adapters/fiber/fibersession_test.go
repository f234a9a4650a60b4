package fibersession_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/utils"
	fibersession "github.com/sessionkit/sessionkit/adapters/fiber"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// newApp returns a Fiber app that trusts no proxy, with the session
// middlewares of ms and the kit's routes. Its read buffer takes the kit's
// 8 KiB cookie. errs, if not nil, receives every error that reaches the
// ErrorHandler, which is fiber's default unless onError is given.
func newApp(ms []*session.Manager, errs chan<- error, onError ...fiber.ErrorHandler) *fiber.App {
	handle := fiber.DefaultErrorHandler
	if len(onError) > 0 {
		handle = onError[0]
	}
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadBufferSize:        16 << 10,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			if errs != nil {
				errs <- err
			}
			return handle(c, err)
		},
	})
	for _, m := range ms {
		app.Use(fibersession.Middleware(m))
	}
	answer := func(c *fiber.Ctx, status int, body string, err error) error {
		if err != nil {
			_ = c.SendString("ignored") // a careless handler: the middleware replaces it
			return err
		}
		return c.Status(status).SendString(body)
	}
	kit := func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		var status int
		var body string
		if err == nil {
			status, body = sessiontest.Do(sess, c.Params("op"), query(c, false), c.Set)
		}
		return answer(c, status, body, err)
	}
	kitFor := func(c *fiber.Ctx) error {
		status, body, err := sessiontest.DoFor(c.Params("op"), query(c, false), c.Set,
			func(m *session.Manager) (*session.Session, error) { return fibersession.GetFor(c, m) })
		return answer(c, status, body, err)
	}
	app.Get("/kit/:op", kit)
	app.Post("/kit/:op", kit)
	app.Get("/for/:op", kitFor)
	app.Post("/for/:op", kitFor)
	app.Get("/untouched", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/stream", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		q := query(c, true) // the stream writer runs after the handler
		sessiontest.Do(sess, "set", q, c.Set)
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			sessiontest.StreamBody(sess, q, func(part string) error {
				w.WriteString(part)
				return w.Flush()
			})
		})
		return nil
	})
	app.Get("/hijack", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		sessiontest.Do(sess, "set", query(c, false), c.Set)
		// fasthttp sends this 101, with the session's cookie, and then
		// hands the connection over.
		c.Status(fiber.StatusSwitchingProtocols)
		c.Set(fiber.HeaderConnection, "Upgrade")
		c.Set(fiber.HeaderUpgrade, "sessiontest")
		c.Context().Hijack(func(conn net.Conn) { sessiontest.Hijacked(sess, conn, nil) })
		return nil
	})
	return app
}

// query returns the request's query; with keep, its strings are copied out
// of fasthttp's buffers, for use after the handler. Otherwise they point
// into them, as users would pass them.
func query(c *fiber.Ctx, keep bool) url.Values {
	q := url.Values{}
	for k, v := range c.Queries() {
		if keep {
			k, v = utils.CopyString(k), utils.CopyString(v)
		}
		q.Set(k, v)
	}
	return q
}

// serve runs app on a loopback listener until the test ends.
func serve(t *testing.T, app *fiber.App) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	serveOn(t, app, ln)
	return "http://" + ln.Addr().String()
}

// serveOn runs app on ln until the test ends.
func serveOn(t *testing.T, app *fiber.App, ln net.Listener) {
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		assert.NoError(t, app.Shutdown())
		assert.NoError(t, <-done)
	})
}

// inProcess returns app as a function serving one request in process on a
// fasthttp.RequestCtx whose connection comes from r.RemoteAddr, and
// dropping the request's values afterwards as fasthttp does.
func inProcess(t *testing.T, app *fiber.App) func(*http.Request) *http.Response {
	h := app.Handler()
	return func(r *http.Request) *http.Response {
		var raw bytes.Buffer
		require.NoError(t, r.Write(&raw))
		var req fasthttp.Request
		require.NoError(t, req.Read(bufio.NewReader(&raw)))
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		require.NoError(t, err)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: ap.Addr().AsSlice(), Zone: ap.Addr().Zone(), Port: int(ap.Port())}, nil)
		h(&ctx)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(ctx.Response.String())), r)
		require.NoError(t, err)
		ctx.ResetUserValues()
		return resp
	}
}

func TestAdapter(t *testing.T) {
	sessiontest.TestAdapter(t, sessiontest.Adapter{
		Serve: func(t *testing.T, m *session.Manager, ln net.Listener) {
			serveOn(t, newApp([]*session.Manager{m}, nil), ln)
		},
		InProcess: func(t *testing.T, m *session.Manager) func(*http.Request) *http.Response {
			return inProcess(t, newApp([]*session.Manager{m}, nil))
		},
		ServeTwo: func(t *testing.T, outer, inner *session.Manager, ln net.Listener) {
			serveOn(t, newApp([]*session.Manager{outer, inner}, nil), ln)
		},
	})
}

// fixture is the kit's Fixture (insecure cookies, for plain HTTP) plus an
// app whose ErrorHandler records errors.
type fixture struct {
	*testenv.Fixture
	errs chan error
	app  *fiber.App
}

func newFixture(t *testing.T, onError ...fiber.ErrorHandler) *fixture {
	f := &fixture{Fixture: testenv.NewFixture(t, session.WithCookieSecure(false)), errs: make(chan error, 16)}
	f.app = newApp([]*session.Manager{f.Manager}, f.errs, onError...)
	return f
}

func (f *fixture) nextErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f.errs:
		return err
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no error reached the ErrorHandler")
		return nil
	}
}

// TestCommitFailure: when the store fails at commit the client gets a 500
// without the handler's body, its body headers or the cookie; the
// ErrorHandler gets an error wrapping ErrStore and the cause is logged.
// This holds for fiber's default ErrorHandler and for one that only sets the
// status (fiber then sends the status text if the body is empty).
func TestCommitFailure(t *testing.T) {
	t.Run("DefaultErrorHandler", func(t *testing.T) { testCommitFailure(t, newFixture(t)) })
	t.Run("StatusOnlyErrorHandler", func(t *testing.T) {
		testCommitFailure(t, newFixture(t, func(c *fiber.Ctx, err error) error {
			return c.SendStatus(fiber.StatusInternalServerError)
		}))
	})
}

func testCommitFailure(t *testing.T, f *fixture) {
	f.app.Get("/send", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		c.Set(fiber.HeaderETag, `"v1"`)
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(fiber.StatusCreated).SendString(`{"secret":1}`)
	})
	f.app.Get("/stream", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			for range 3 {
				w.WriteString("secret chunk\n")
				if w.Flush() != nil {
					return
				}
			}
		})
		return nil
	})
	f.app.Get("/sized", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		body := strings.Repeat("secret ", 100)
		return c.SendStream(strings.NewReader(body), len(body))
	})
	base := serve(t, f.app)
	f.Fail.SetDown(true)
	for _, path := range []string{"/send", "/stream", "/sized"} {
		resp := testenv.Get(t, base+path)
		body := testenv.ReadBody(t, resp)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode, path)
		require.Equal(t, "Internal Server Error", body, path)
		require.Empty(t, resp.Header.Values("Set-Cookie"), path)
		require.Empty(t, resp.Header.Get("Etag"), path)
		require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), "%s: Content-Type %q", path, resp.Header.Get("Content-Type"))
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"), path)
		err := f.nextErr(t)
		require.ErrorIs(t, err, session.ErrStore, path)
		require.ErrorIs(t, err, testenv.ErrDown, path)
		var fe *fiber.Error
		require.ErrorAs(t, err, &fe, path)
		require.Equal(t, fiber.StatusInternalServerError, fe.Code, path)
	}
	f.Log.WaitFor(t, "answering 500", testenv.ErrDown.Error())
	require.Equal(t, 3, strings.Count(f.Log.String(), testenv.ErrDown.Error()), "logged once each: %s", f.Log)
	f.Fail.SetDown(false)
	n, err := f.Mem.Len(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "the store holds sessions")
}

// TestGetWithoutMiddlewareShowsNoDetail: the accessor on a request the
// middleware did not see fails instead of panicking, with an error that
// names the mistake; the client gets a 500 without that detail, and the
// mistake is logged with slog.Default.
func TestGetWithoutMiddlewareShowsNoDetail(t *testing.T) {
	log := testenv.DefaultLog(t)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	var got error
	app.Get("/", func(c *fiber.Ctx) error {
		_, got = fibersession.Get(c)
		return got
	})
	resp, err := app.Test(httpRequest(t, "/", ""), -1)
	require.NoError(t, err)
	require.ErrorIs(t, got, session.ErrNoMiddleware)
	testenv.WantErrorResponse(t, resp, http.StatusInternalServerError, "Internal Server Error")
	require.Contains(t, log.String(), session.ErrNoMiddleware.Error())
}

// panicApp returns an app with the session middleware and recover.New in
// the given order, whose /panic handler changes the session and panics.
func panicApp(m *session.Manager, recoverFirst bool) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	if recoverFirst {
		app.Use(recover.New(), fibersession.Middleware(m))
	} else {
		app.Use(fibersession.Middleware(m), recover.New())
	}
	app.Get("/set", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "before")
		return c.SendStatus(fiber.StatusNoContent)
	})
	app.Get("/panic", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "half-done")
		panic("handler bug")
	})
	app.Get("/value", func(c *fiber.Ctx) error {
		sess, err := fibersession.Get(c)
		if err != nil {
			return err
		}
		return c.SendString(fmt.Sprint(sess.Get("a")))
	})
	return app
}

// TestPanicCommitsNothingWithRecoverOutside: with recover.New registered
// before the session middleware, as the package doc requires, a handler
// that panics after changing the session saves nothing and sets no cookie.
func TestPanicCommitsNothingWithRecoverOutside(t *testing.T) {
	f := newFixture(t)
	base := serve(t, panicApp(f.Manager, true))
	resp := testenv.Get(t, base+"/panic")
	testenv.ReadBody(t, resp)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Empty(t, resp.Header.Values("Set-Cookie"), "a panicking handler's new session was committed")
	_, sets, _ := f.Count.Calls()
	require.Zero(t, sets, "store writes after a panic")

	cookie := testenv.StartSession(t, base+"/set")
	resp = testenv.Get(t, base+"/panic", cookie)
	testenv.ReadBody(t, resp)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Equal(t, "before", testenv.ReadBody(t, testenv.Get(t, base+"/value", cookie)),
		"a panicking handler's half-done change was saved")
}

// TestPanicBehindAnInnerRecoverIsCommitted pins down why the package doc
// requires recover.New outside the session middleware: registered after
// it, recover turns the panic into an ordinary error that fiber gives no
// sign of, so the session middleware commits the half-done change. If
// this test fails, fiber started telling, and the doc can relax.
func TestPanicBehindAnInnerRecoverIsCommitted(t *testing.T) {
	f := newFixture(t)
	base := serve(t, panicApp(f.Manager, false))
	resp := testenv.Get(t, base+"/panic")
	testenv.ReadBody(t, resp)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	cookie := testenv.SessionCookie(t, resp)
	require.Equal(t, "half-done", testenv.ReadBody(t, testenv.Get(t, base+"/value", cookie)))
}

// stallStore stalls every Get until the call's context ends, or for at
// most 3 s, and reports on calls what bound it had.
type stallStore struct {
	session.Store
	calls chan stall
}

// stall is what stallStore saw of one call.
type stall struct {
	bound     time.Duration // how long the context gave the call; 0 for no deadline
	cancelled bool          // the context ended the call, not the 3 s limit
}

func (s stallStore) Get(ctx context.Context, key string) ([]byte, error) {
	var st stall
	if d, ok := ctx.Deadline(); ok {
		st.bound = time.Until(d)
	}
	select {
	case <-ctx.Done():
		st.cancelled = true
	case <-time.After(3 * time.Second):
	}
	s.calls <- st
	if st.cancelled {
		return nil, ctx.Err()
	}
	return nil, errors.New("stalled")
}

func TestStalledStoreIsCancelledWithoutAStoreTimeout(t *testing.T) {
	fibersession.SetStoreTimeout(t, 100*time.Millisecond) // instead of DefaultStoreTimeout's 5 s
	for _, tc := range []struct {
		name      string
		opts      []session.Option
		userBound time.Duration // a deadline on c.UserContext(), set by an earlier middleware
		want      time.Duration
	}{
		{name: "Default", want: 100 * time.Millisecond},
		{name: "ManagerStoreTimeout", opts: []session.Option{session.WithStoreTimeout(400 * time.Millisecond)},
			want: 400 * time.Millisecond},
		{name: "UserContextDeadline", userBound: 300 * time.Millisecond, want: 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := testenv.MemoryStore(t)
			t.Cleanup(func() { mem.Close() })
			store := stallStore{Store: mem, calls: make(chan stall, 4)}
			m, err := session.NewManager(append([]session.Option{session.WithStore(store),
				session.WithCookieSecure(false)}, tc.opts...)...)
			require.NoError(t, err)
			app := fiber.New(fiber.Config{DisableStartupMessage: true})
			if tc.userBound > 0 {
				app.Use(func(c *fiber.Ctx) error {
					ctx, cancel := context.WithTimeout(c.UserContext(), tc.userBound)
					defer cancel()
					c.SetUserContext(ctx)
					return c.Next()
				})
			}
			app.Use(fibersession.Middleware(m))
			app.Get("/", func(c *fiber.Ctx) error {
				sess, err := fibersession.Get(c)
				if err != nil {
					return err
				}
				sess.Set("a", "1")
				return c.SendString("ok")
			})
			base := serve(t, app)

			resp := testenv.Get(t, base+"/") // a new session: Set, no Get
			testenv.ReadBody(t, resp)
			cookie := testenv.SessionCookie(t, resp)
			began := time.Now()
			resp = testenv.Get(t, base+"/", cookie) // the load stalls
			testenv.ReadBody(t, resp)
			took := time.Since(began)
			st := <-store.calls
			require.True(t, st.cancelled, "the stalled store call was never cancelled (bound %v)", st.bound)
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			require.InDelta(t, float64(tc.want), float64(st.bound), float64(50*time.Millisecond), "the store call's bound")
			require.Less(t, took, tc.want+time.Second)
		})
	}
}

func httpRequest(t testing.TB, path, cookie string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "http://fiber.test"+path, nil)
	require.NoError(t, err)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// FuzzCookie runs the kit's fuzz body (sessiontest.FuzzCookieHeader)
// through the real router.
func FuzzCookie(f *testing.F) {
	m, err := session.NewManager()
	require.NoError(f, err)
	f.Cleanup(func() { m.Close() })
	sessiontest.FuzzCookieHeader(f, unparsed(newApp([]*session.Manager{m}, nil)))
}

// unparsed returns app as a function serving one request in process on a
// fasthttp.RequestCtx whose request is set field by field, not parsed:
// fasthttp's parser (from v1.69, which the workspace's fiber v3 brings)
// answers 400 to header bytes the fuzzer makes (a NUL), and the adapter
// must withstand whatever else reaches it, as httptest.NewRecorder lets
// the net/http adapters' fuzz targets check.
func unparsed(app *fiber.App) func(*http.Request) *http.Response {
	h := app.Handler()
	return func(r *http.Request) *http.Response {
		var req fasthttp.Request
		req.Header.SetMethod(r.Method)
		req.SetRequestURI(r.URL.RequestURI())
		req.Header.SetHost(r.Host)
		for k, vs := range r.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}, nil)
		h(&ctx)
		defer ctx.ResetUserValues()
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(ctx.Response.String())), r)
		if err != nil {
			panic(err) // the fuzz body has no t to fail; a panic fails the input all the same
		}
		return resp
	}
}

// doneStore asks every call's context for Err, as network stores do, and
// reports what it found.
type doneStore struct {
	session.Store
	calls chan error // per call: nil, or what was wrong with its context
}

func (s doneStore) check(ctx context.Context) {
	_, ok := ctx.Deadline()
	switch {
	case !ok:
		s.calls <- errors.New("no deadline")
	case ctx.Err() != nil:
		s.calls <- fmt.Errorf("context already ended: %w", ctx.Err())
	default:
		s.calls <- nil
	}
}

func (s doneStore) Get(ctx context.Context, key string) ([]byte, error) {
	s.check(ctx)
	return s.Store.Get(ctx, key)
}

func (s doneStore) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	s.check(ctx)
	return s.Store.Set(ctx, key, data, expiry)
}

// TestEachStoreCallGetsALiveBound: the load and the commit of one request
// each get a bounded context of their own, alive when the store uses it,
// even when the store started the first one's timer.
func TestEachStoreCallGetsALiveBound(t *testing.T) {
	mem := testenv.MemoryStore(t)
	t.Cleanup(func() { mem.Close() })
	store := doneStore{Store: mem, calls: make(chan error, 8)}
	m, err := session.NewManager(session.WithStore(store), session.WithCookieSecure(false))
	require.NoError(t, err)
	base := serve(t, newApp([]*session.Manager{m}, nil))
	resp := testenv.Get(t, base+"/kit/incr?k=n") // a new session: one Set
	require.Equal(t, "1", testenv.ReadBody(t, resp))
	resp = testenv.Get(t, base+"/kit/incr?k=n", testenv.SessionCookie(t, resp)) // Get, then Set
	require.Equal(t, "2", testenv.ReadBody(t, resp))
	for range 3 {
		require.NoError(t, <-store.calls)
	}
}

// TestGetErrorAnswersTheErrorResponseWhateverTheHandlerDoes: a Get that
// cannot load the session is logged once and answered with the error
// response, even by a handler that writes and returns nil instead of the
// error.
func TestGetErrorAnswersTheErrorResponseWhateverTheHandlerDoes(t *testing.T) {
	f := newFixture(t)
	f.app.Get("/careless", func(c *fiber.Ctx) error {
		if _, err := fibersession.Get(c); err != nil {
			c.Set(fiber.HeaderCacheControl, "public, max-age=60")
			return c.SendString("as if nothing happened")
		}
		return c.SendString("ok")
	})
	base := serve(t, f.app)
	cookie := testenv.StartSession(t, base+"/kit/set?k=a&v=1")
	f.Fail.SetDown(true)
	testenv.WantErrorResponse(t, testenv.Get(t, base+"/careless", cookie), http.StatusInternalServerError, "Internal Server Error")
	require.ErrorIs(t, f.nextErr(t), session.ErrStore)
	require.Equal(t, 1, strings.Count(f.Log.String(), testenv.ErrDown.Error()), "logged once: %s", f.Log)
}

func TestMiddlewareWithANilManagerPanics(t *testing.T) {
	require.PanicsWithValue(t, "fibersession: Middleware with a nil Manager", func() { fibersession.Middleware(nil) })
}

func TestGetForAllocatesNothing(t *testing.T) {
	outer, inner := testenv.NewFixture(t).Manager, testenv.NewFixture(t, session.WithCookieName("inner")).Manager
	allocs := -1.0
	app := newApp([]*session.Manager{outer, inner}, nil)
	app.Get("/", func(c *fiber.Ctx) error {
		allocs = testing.AllocsPerRun(100, func() {
			fibersession.GetFor(c, outer)
			fibersession.GetFor(c, inner)
			fibersession.Get(c)
		})
		return nil
	})
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}, nil)
	app.Handler()(&ctx)
	require.Zero(t, allocs)
}
