package echov5session_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quietEcho returns an Echo whose logger drops "response already written",
// from the careless writes.
func quietEcho() *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.DiscardHandler)
	return e
}

// newEcho returns an Echo with the kit's routes and the session
// middlewares of ms. It trusts no proxy: echo v5's default, with no
// IPExtractor, is the connection's address.
func newEcho(ms ...*session.Manager) *echo.Echo {
	e := quietEcho()
	for _, m := range ms {
		e.Use(echov5session.Middleware(m))
	}
	answer := func(c *echo.Context, status int, body string, err error) error {
		if err != nil {
			_ = c.String(http.StatusOK, "ignored") // a careless handler: refused
			return err
		}
		return c.String(status, body)
	}
	kit := func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		var status int
		var body string
		if err == nil {
			status, body = sessiontest.Do(sess, c.Param("op"), c.QueryParams(), c.Response().Header().Set)
		}
		return answer(c, status, body, err)
	}
	kitFor := func(c *echo.Context) error {
		status, body, err := sessiontest.DoFor(c.Param("op"), c.QueryParams(), c.Response().Header().Set,
			func(m *session.Manager) (*session.Session, error) { return echov5session.GetFor(c, m) })
		return answer(c, status, body, err)
	}
	e.GET("/kit/:op", kit)
	e.POST("/kit/:op", kit)
	e.GET("/for/:op", kitFor)
	e.POST("/for/:op", kitFor)
	e.GET("/untouched", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/stream", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sessiontest.Do(sess, "set", c.QueryParams(), c.Response().Header().Set)
		w := c.Response()
		w.Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
		rc := http.NewResponseController(w)
		return sessiontest.StreamBody(sess, c.QueryParams(), func(part string) error {
			if part != "" {
				if _, err := io.WriteString(w, part); err != nil {
					return err
				}
			}
			return rc.Flush()
		})
	})
	e.GET("/hijack", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sessiontest.Do(sess, "set", c.QueryParams(), c.Response().Header().Set)
		conn, brw, err := http.NewResponseController(c.Response()).Hijack()
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

// record makes e's error handler record every error before handing it to
// echo's default one.
func (f *fixture) record(e *echo.Echo) *echo.Echo {
	def := echo.DefaultHTTPErrorHandler(false)
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		f.errs <- err
		def(c, err)
	}
	return e
}

// echo returns an Echo with the kit's routes and the middleware, whose
// error handler records every error.
func (f *fixture) echo() *echo.Echo { return f.record(newEcho(f.Manager)) }

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
func valueRoute(c *echo.Context) error {
	sess, err := echov5session.Get(c)
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
	e.GET("/late", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
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
// *echo.HTTPError 500 wrapping ErrStore, whatever way the handler writes.
func TestCommitFailure(t *testing.T) {
	f := newFixture(t)
	e := f.echo()
	set := func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		c.Response().Header().Set("ETag", `"v1"`)
		return nil
	}
	e.GET("/write", func(c *echo.Context) error { // commit when the headers go out
		if err := set(c); err != nil {
			return err
		}
		err := c.String(http.StatusCreated, "secret body")
		assert.ErrorIs(t, err, session.ErrStore, "writing after a failed commit")
		return err
	})
	e.GET("/json", func(c *echo.Context) error { // echo delays the status until the first write
		if err := set(c); err != nil {
			return err
		}
		err := c.JSON(http.StatusCreated, map[string]string{"secret": "body"})
		assert.ErrorIs(t, err, session.ErrStore, "writing after a failed commit")
		return err
	})
	e.GET("/silent", func(c *echo.Context) error { return set(c) }) // commit after the handler
	e.GET("/stream", func(c *echo.Context) error {
		if err := set(c); err != nil {
			return err
		}
		c.Response().WriteHeader(http.StatusOK)
		for range 3 {
			if _, err := io.WriteString(c.Response(), "secret chunk\n"); err != nil {
				return err
			}
			if err := http.NewResponseController(c.Response()).Flush(); err != nil {
				return err
			}
		}
		return nil
	})
	e.GET("/reader", func(c *echo.Context) error { // io.Copy through ReadFrom
		if err := set(c); err != nil {
			return err
		}
		return c.Stream(http.StatusOK, echo.MIMETextPlain, strings.NewReader("secret stream"))
	})
	base := testenv.Serve(t, e)
	f.Fail.SetDown(true)
	paths := []string{"/write", "/json", "/silent", "/stream", "/reader"}
	for _, path := range paths {
		resp := testenv.Get(t, base+path)
		body := testenv.ReadBody(t, resp)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode, path)
		require.NotContains(t, body, "secret", path)
		require.NotContains(t, body, testenv.ErrDown.Error(), path)
		require.Equal(t, session.ErrorBody, body, path) // the core's error response, not echo's JSON
		require.Empty(t, resp.Header.Values("Set-Cookie"), path)
		require.Empty(t, resp.Header.Get("Etag"), path)
		err := f.nextErr(t)
		require.ErrorIs(t, err, session.ErrStore, path)
		var he *echo.HTTPError
		require.ErrorAs(t, err, &he, path)
		require.Equal(t, http.StatusInternalServerError, he.Code, path)
		require.NotContains(t, he.Message, testenv.ErrDown.Error(), path)
	}
	require.Equal(t, len(paths), strings.Count(f.Log.String(), testenv.ErrDown.Error()), "logged once each: %s", f.Log)
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
	e := quietEcho()
	var got error
	e.GET("/", func(c *echo.Context) error {
		_, got = echov5session.Get(c)
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

// panicEcho returns an Echo with mw, whose /panic handler changes the
// session and panics.
func panicEcho(mw ...echo.MiddlewareFunc) *echo.Echo {
	e := quietEcho()
	e.Use(mw...)
	e.GET("/set", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "before")
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/panic", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "half-done")
		panic("handler bug")
	})
	e.GET("/value", valueRoute)
	return e
}

// TestPanicCommitsNothingWhateverTheRecoverOrder: a handler that panics
// after changing the session saves nothing and sets no cookie, with
// middleware.Recover outside the session middleware or inside it.
func TestPanicCommitsNothingWhateverTheRecoverOrder(t *testing.T) {
	for name, order := range map[string]func(m *session.Manager) []echo.MiddlewareFunc{
		"RecoverOutside": func(m *session.Manager) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{middleware.Recover(), echov5session.Middleware(m)}
		},
		"RecoverInside": func(m *session.Manager) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{echov5session.Middleware(m), middleware.Recover()}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			base := testenv.Serve(t, panicEcho(order(f.Manager)...))

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

// TestPanicBehindAnInnerRecoverWithoutStackIsCommitted pins down why the
// package doc requires middleware.Recover outside the session middleware:
// inside it, with DisablePrintStack, Recover returns the panic as a plain
// error that echo gives no sign of, so the session middleware commits the
// half-done change. If this test fails, echo started telling, and the doc
// can relax.
func TestPanicBehindAnInnerRecoverWithoutStackIsCommitted(t *testing.T) {
	f := newFixture(t)
	recoverer := middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true})
	base := testenv.Serve(t, panicEcho(echov5session.Middleware(f.Manager), recoverer))
	resp := testenv.Get(t, base+"/panic")
	testenv.ReadBody(t, resp)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	cookie := testenv.SessionCookie(t, resp)
	require.Equal(t, "half-done", testenv.ReadBody(t, testenv.Get(t, base+"/value", cookie)))
}

// FuzzCookie runs the kit's fuzz body (sessiontest.FuzzCookieHeader)
// through the real router.
func FuzzCookie(f *testing.F) {
	m, err := session.NewManager()
	require.NoError(f, err)
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
	e.GET("/anon", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		return sess.Set("k", "anonymous")
	})
	e.GET("/login", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sess.Regenerate()
		sess.Set("k", "ann")
		c.Response().WriteHeader(http.StatusOK) // the commit, into the wrapper's buffer
		<-c.Request().Context().Done()
		return nil
	})
	e.GET("/value", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
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
// e.HTTPErrorHandler as an *echo.HTTPError 500 wrapping the cause.
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
	require.ErrorIs(t, errors.Unwrap(he), session.ErrStore)
	require.Equal(t, 1, strings.Count(f.Log.String(), testenv.ErrDown.Error()), "logged once: %s", f.Log)
}

// TestWithErrorHandlerAnswersSessionErrors: the error handler answers a
// failed load and a failed commit, also one that c.JSON set off (echo keeps
// the writer c.JSON wraps in the Context, so the error handler's own c.JSON
// must not take its place); e.HTTPErrorHandler still gets the error.
func TestWithErrorHandlerAnswersSessionErrors(t *testing.T) {
	f := newFixture(t)
	e := f.record(quietEcho())
	e.Use(echov5session.Middleware(f.Manager, echov5session.WithErrorHandler(func(c *echo.Context, err error) {
		_ = c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "try later"})
	})))
	set := func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sess.Set("k", "v")
		return nil
	}
	e.GET("/set", func(c *echo.Context) error {
		if err := set(c); err != nil {
			return err
		}
		return c.String(http.StatusOK, "secret page")
	})
	e.GET("/json", func(c *echo.Context) error {
		if err := set(c); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]string{"secret": "page"})
	})
	base := testenv.Serve(t, e)
	cookie := testenv.StartSession(t, base+"/set")
	f.Fail.SetDown(true)
	for _, tc := range []struct {
		name, path string
		cookies    []*http.Cookie
	}{
		{"load", "/set", []*http.Cookie{cookie}},
		{"commit", "/set", nil},
		{"commit from c.JSON", "/json", nil},
	} {
		testenv.WantErrorResponse(t, testenv.Get(t, base+tc.path, tc.cookies...), http.StatusServiceUnavailable, `{"error":"try later"}`)
		require.ErrorIs(t, f.nextErr(t), session.ErrStore, tc.name)
	}
}

func TestMiddlewareWithANilManagerPanics(t *testing.T) {
	require.PanicsWithValue(t, "echov5session: Middleware with a nil Manager", func() { echov5session.Middleware(nil) })
}

func TestGetForAllocatesNothing(t *testing.T) {
	outer, inner := testenv.NewFixture(t).Manager, testenv.NewFixture(t, session.WithCookieName("inner")).Manager
	allocs := -1.0
	e := newEcho(outer, inner)
	e.GET("/", func(c *echo.Context) error {
		allocs = testing.AllocsPerRun(100, func() {
			echov5session.GetFor(c, outer)
			echov5session.GetFor(c, inner)
			echov5session.Get(c)
		})
		return nil
	})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.Zero(t, allocs)
}

// TestErrorAfterHijackWritesNothing: a handler that hijacks the connection
// and then returns an error leaves echo's Response marked committed, so
// that e.HTTPErrorHandler does not write to the hijacked connection.
func TestErrorAfterHijackWritesNothing(t *testing.T) {
	f := newFixture(t)
	e := f.echo()
	e.GET("/upgrade", func(c *echo.Context) error {
		sess, err := echov5session.Get(c)
		if err != nil {
			return err
		}
		sess.Set("a", "1")
		conn, brw, err := http.NewResponseController(c.Response()).Hijack()
		if err != nil {
			return err
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		brw.Flush()
		return errors.New("the protocol failed after the upgrade")
	})
	var serverLog testenv.LogBuffer
	srv := httptest.NewUnstartedServer(e)
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	resp := testenv.Get(t, srv.URL+"/upgrade")
	testenv.ReadBody(t, resp)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.EqualError(t, f.nextErr(t), "the protocol failed after the upgrade")
	require.Empty(t, serverLog.String(), "something wrote to the hijacked connection")
}
