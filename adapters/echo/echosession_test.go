package echosession_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	echosession "github.com/sessionkit/sessionkit/adapters/echo"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newEcho returns an Echo that trusts no proxy, with the kit's routes and
// the session middlewares of ms.
func newEcho(ms ...*session.Manager) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard) // "response already committed", from the careless writes
	e.IPExtractor = echo.ExtractIPDirect()
	for _, m := range ms {
		e.Use(echosession.Middleware(m))
	}
	answer := func(c echo.Context, status int, body string, err error) error {
		if err != nil {
			_ = c.String(http.StatusOK, "ignored") // a careless handler: refused
			return err
		}
		return c.String(status, body)
	}
	kit := func(c echo.Context) error {
		sess, err := echosession.Get(c)
		var status int
		var body string
		if err == nil {
			status, body = sessiontest.Do(sess, c.Param("op"), c.QueryParams(), c.Response().Header().Set)
		}
		return answer(c, status, body, err)
	}
	kitFor := func(c echo.Context) error {
		status, body, err := sessiontest.DoFor(c.Param("op"), c.QueryParams(), c.Response().Header().Set,
			func(m *session.Manager) (*session.Session, error) { return echosession.GetFor(c, m) })
		return answer(c, status, body, err)
	}
	e.GET("/kit/:op", kit)
	e.POST("/kit/:op", kit)
	e.GET("/for/:op", kitFor)
	e.POST("/for/:op", kitFor)
	e.GET("/untouched", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/stream", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sessiontest.Do(sess, "set", c.QueryParams(), c.Response().Header().Set)
		res := c.Response()
		res.Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
		return sessiontest.StreamBody(sess, c.QueryParams(), func(part string) error {
			if part != "" {
				if _, err := io.WriteString(res, part); err != nil {
					return err
				}
			}
			res.Flush()
			return nil
		})
	})
	e.GET("/hijack", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sessiontest.Do(sess, "set", c.QueryParams(), c.Response().Header().Set)
		conn, brw, err := c.Response().Hijack()
		if err != nil {
			return err // the middleware answered 500
		}
		defer conn.Close()
		return sessiontest.Hijacked(sess, brw, c.Response().Header())
	})
	return e
}

func TestAdapter(t *testing.T) {
	sessiontest.TestAdapter(t, sessiontest.Adapter{
		Serve: func(t *testing.T, m *session.Manager, ln net.Listener) { testenv.ServeOn(t, ln, newEcho(m)) },
		InProcess: func(t *testing.T, m *session.Manager) func(*http.Request) *http.Response {
			return testenv.InProcess(newEcho(m))
		},
		ServeTwo: func(t *testing.T, outer, inner *session.Manager, ln net.Listener) {
			testenv.ServeOn(t, ln, newEcho(outer, inner))
		},
	})
}

// fixture is the kit's Fixture (insecure cookies, for plain HTTP) plus
// the errors that reach the HTTPErrorHandler.
type fixture struct {
	*testenv.Fixture
	errs chan error // errors that reached e.HTTPErrorHandler
}

func newFixture(t *testing.T) *fixture {
	return &fixture{Fixture: testenv.NewFixture(t, session.WithCookieSecure(false)), errs: make(chan error, 16)}
}

// echo returns an Echo with the middleware whose error handler records
// every error before handing it to the default one.
func (f *fixture) echo() *echo.Echo {
	e := newEcho(f.Manager)
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		f.errs <- err
		e.DefaultHTTPErrorHandler(err, c)
	}
	return e
}

func (f *fixture) nextErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f.errs:
		return err
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no error reached the HTTPErrorHandler")
		return nil
	}
}

// valueRoute answers the session value "a".
func valueRoute(c echo.Context) error {
	sess, err := echosession.Get(c)
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, fmt.Sprint(sess.Get("a")))
}

// TestLateChange: a change made after the body was written is not saved,
// is logged by the core and reaches the error handler as ErrLateChange.
func TestLateChange(t *testing.T) {
	f := newFixture(t)
	e := f.echo()
	e.GET("/late", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("early", "1")
		if err := c.String(http.StatusOK, "written"); err != nil {
			return err
		}
		sess.Set("late", "1")
		return nil
	})
	base := testenv.Serve(t, e)
	resp := testenv.Get(t, base+"/late")
	ck := testenv.SessionCookie(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "written", testenv.ReadBody(t, resp))
	require.ErrorIs(t, f.nextErr(t), session.ErrLateChange, "the error handler's error")
	log := f.Log.String()
	require.Contains(t, log, "after the response headers were sent", "late change not logged")
	require.Contains(t, log, "late", "late change not logged")
	require.Equal(t, "1", testenv.ReadBody(t, testenv.Get(t, base+"/kit/get?k=early", ck)))
	r := testenv.Get(t, base+"/kit/get?k=late", ck)
	require.Equal(t, http.StatusNotFound, r.StatusCode, "the late change was saved: %q", testenv.ReadBody(t, r))
}

// TestCommitFailure: when the store fails at commit the client gets a 500
// without the handler's body or the cookie, and the error handler gets an
// error wrapping ErrStore.
func TestCommitFailure(t *testing.T) {
	f := newFixture(t)
	e := f.echo()
	e.GET("/write", func(c echo.Context) error { // commit when the headers go out
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		c.Response().Header().Set("ETag", `"v1"`)
		err = c.String(http.StatusCreated, "secret body")
		assert.ErrorIs(t, err, session.ErrStore, "writing after a failed commit")
		return err
	})
	e.GET("/silent", func(c echo.Context) error { // commit after the handler
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		return nil
	})
	e.GET("/stream", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		c.Response().WriteHeader(http.StatusOK)
		for range 3 {
			if _, err := io.WriteString(c.Response(), "secret chunk\n"); err != nil {
				return err
			}
			c.Response().Flush()
		}
		return nil
	})
	base := testenv.Serve(t, e)
	f.Fail.SetDown(true)
	for _, path := range []string{"/write", "/silent", "/stream"} {
		resp := testenv.Get(t, base+path)
		body := testenv.ReadBody(t, resp)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode, path)
		require.NotContains(t, body, "secret", path)
		require.NotContains(t, body, testenv.ErrDown.Error(), path)
		require.Equal(t, session.ErrorBody, body, path) // the core's error response, not echo's JSON
		require.Empty(t, resp.Header.Values("Set-Cookie"), path)
		require.Empty(t, resp.Header.Get("Etag"), path)
		require.ErrorIs(t, f.nextErr(t), session.ErrStore, path)
	}
	require.Equal(t, 3, strings.Count(f.Log.String(), testenv.ErrDown.Error()), "logged once each: %s", f.Log)
	f.Fail.SetDown(false)
	n, err := f.Mem.Len(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "the store holds sessions")
}

// TestGetWithoutMiddleware: the accessor on a request the middleware did
// not see fails clearly instead of panicking, answers the error response,
// and logs with slog.Default.
func TestGetWithoutMiddleware(t *testing.T) {
	log := testenv.DefaultLog(t)
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	var got error
	e.GET("/", func(c echo.Context) error {
		_, got = echosession.Get(c)
		_ = c.String(http.StatusOK, "ignored") // refused
		return got
	})
	resp := testenv.Get(t, testenv.Serve(t, e)+"/")
	var he *echo.HTTPError
	require.ErrorAs(t, got, &he)
	require.Equal(t, http.StatusInternalServerError, he.Code)
	require.ErrorIs(t, got, session.ErrNoMiddleware)
	testenv.WantErrorResponse(t, resp, session.ErrorStatus, session.ErrorBody)
	require.Contains(t, log.String(), session.ErrNoMiddleware.Error(), "not logged")
}

// TestPanicCommitsNothingWhateverTheRecoverOrder: a handler that panics
// after changing the session saves nothing and sets no cookie, with
// middleware.Recover outside the session middleware or inside it.
func TestPanicCommitsNothingWhateverTheRecoverOrder(t *testing.T) {
	for name, order := range map[string]func(m *session.Manager) []echo.MiddlewareFunc{
		"RecoverOutside": func(m *session.Manager) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{middleware.Recover(), echosession.Middleware(m)}
		},
		"RecoverInside": func(m *session.Manager) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{echosession.Middleware(m), middleware.Recover()}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			e := echo.New()
			e.Logger.SetOutput(io.Discard)
			e.Use(order(f.Manager)...)
			e.GET("/set", func(c echo.Context) error {
				sess, err := echosession.Get(c)
				if err != nil {
					return err
				}
				sess.Set("a", "before")
				return c.NoContent(http.StatusNoContent)
			})
			e.GET("/panic", func(c echo.Context) error {
				sess, err := echosession.Get(c)
				if err != nil {
					return err
				}
				sess.Set("a", "half-done")
				panic("handler bug")
			})
			e.GET("/value", valueRoute)
			base := testenv.Serve(t, e)

			// A new session: nothing stored, no cookie.
			resp := testenv.Get(t, base+"/panic")
			testenv.ReadBody(t, resp)
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			require.Empty(t, resp.Header.Values("Set-Cookie"), "a panicking handler's new session was committed")
			_, sets, _ := f.Count.Calls()
			require.Zero(t, sets, "store writes after a panic")

			// An existing session keeps its value.
			cookie := testenv.StartSession(t, base+"/set")
			resp = testenv.Get(t, base+"/panic", cookie)
			testenv.ReadBody(t, resp)
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			require.Equal(t, "before", testenv.ReadBody(t, testenv.Get(t, base+"/value", cookie)),
				"a panicking handler's half-done change was saved")
		})
	}
}

// FuzzCookie runs the kit's fuzz body (sessiontest.FuzzCookieHeader)
// through the real router.
func FuzzCookie(f *testing.F) {
	m, err := session.NewManager()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { m.Close() })
	sessiontest.FuzzCookieHeader(f, testenv.InProcess(newEcho(m)))
}

// TestTimeoutHandlerOutsideTheMiddlewareLosesNoLogin: with
// http.TimeoutHandler around the whole Echo, a slow login commits into the
// wrapper's buffer and the wrapper answers 503 without the new cookie. The
// move is undone, so the client's pre-login session still works.
func TestTimeoutHandlerOutsideTheMiddlewareLosesNoLogin(t *testing.T) {
	f := testenv.NewFixture(t)
	e := newEcho(f.Manager)
	e.GET("/anon", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		return sess.Set("k", "anonymous")
	})
	e.GET("/login", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sess.Regenerate()
		sess.Set("k", "ann")
		c.Response().WriteHeader(http.StatusOK) // the commit, into the wrapper's buffer
		<-c.Request().Context().Done()
		return nil
	})
	e.GET("/value", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		if v := sess.Get("k"); v != nil {
			return c.String(http.StatusOK, v.(string))
		}
		return c.String(http.StatusOK, "missing")
	})
	url := testenv.Serve(t, http.TimeoutHandler(e, 300*time.Millisecond, "timed out"))

	anon := testenv.StartSession(t, url+"/anon")
	resp := testenv.Get(t, url+"/login", anon)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Empty(t, resp.Header.Values("Set-Cookie"))
	testenv.ReadBody(t, resp)
	require.Eventually(t, func() bool {
		return testenv.ReadBody(t, testenv.Get(t, url+"/value", anon)) == "anonymous"
	}, 5*time.Second, 20*time.Millisecond, "the pre-login session was lost with the response that never arrived")
}

// TestGetErrorAnswersTheErrorResponse: a Get that cannot load the session
// answers the core's error response (not the JSON of echo's default
// HTTPErrorHandler), logs the error once, and the handler's error reaches
// e.HTTPErrorHandler as an *echo.HTTPError 500 with the cause as Internal.
func TestGetErrorAnswersTheErrorResponse(t *testing.T) {
	f := newFixture(t)
	e := f.echo()
	e.GET("/value", valueRoute)
	base := testenv.Serve(t, e)
	cookie := testenv.StartSession(t, base+"/kit/set?k=a&v=1")
	f.Fail.SetDown(true)
	testenv.WantErrorResponse(t, testenv.Get(t, base+"/value", cookie), session.ErrorStatus, session.ErrorBody)
	err := f.nextErr(t)
	var he *echo.HTTPError
	require.ErrorAs(t, err, &he)
	require.Equal(t, http.StatusInternalServerError, he.Code)
	require.ErrorIs(t, he.Internal, session.ErrStore)
	require.Equal(t, 1, strings.Count(f.Log.String(), testenv.ErrDown.Error()), "logged once: %s", f.Log)
}

// TestWithErrorHandlerAnswersSessionErrors: the error handler answers a
// failed load and a failed commit; e.HTTPErrorHandler still gets the error.
func TestWithErrorHandlerAnswersSessionErrors(t *testing.T) {
	f := newFixture(t)
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		f.errs <- err
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.Use(echosession.Middleware(f.Manager, echosession.WithErrorHandler(func(c echo.Context, err error) {
		_ = c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "try later"})
	})))
	e.GET("/set", func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		sess.Set("k", "v")
		return c.String(http.StatusOK, "page")
	})
	base := testenv.Serve(t, e)
	cookie := testenv.StartSession(t, base+"/set")
	f.Fail.SetDown(true)
	for name, cookies := range map[string][]*http.Cookie{"load": {cookie}, "commit": nil} {
		testenv.WantErrorResponse(t, testenv.Get(t, base+"/set", cookies...), http.StatusServiceUnavailable, `{"error":"try later"}`)
		require.ErrorIs(t, f.nextErr(t), session.ErrStore, name)
	}
}

func TestMiddlewareWithANilManagerPanics(t *testing.T) {
	require.PanicsWithValue(t, "echosession: Middleware with a nil Manager", func() { echosession.Middleware(nil) })
}

func TestGetForAllocatesNothing(t *testing.T) {
	outer, inner := testenv.NewFixture(t).Manager, testenv.NewFixture(t, session.WithCookieName("inner")).Manager
	allocs := -1.0
	e := newEcho(outer, inner)
	e.GET("/", func(c echo.Context) error {
		allocs = testing.AllocsPerRun(100, func() {
			echosession.GetFor(c, outer)
			echosession.GetFor(c, inner)
			echosession.Get(c)
		})
		return nil
	})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.Zero(t, allocs)
}
