package echosession_test

import (
	"errors"
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
	"github.com/stretchr/testify/require"
)

// newEcho returns an Echo that trusts no proxy, with the kit's routes and
// the session middleware using m.
func newEcho(m *session.Manager) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(echosession.Middleware(m))
	kit := func(c echo.Context) error {
		sess, err := echosession.Get(c)
		if err != nil {
			return err
		}
		status, body := sessiontest.Do(sess, c.Param("op"), c.QueryParams(), c.Response().Header().Set)
		return c.String(status, body)
	}
	e.GET("/kit/:op", kit)
	e.POST("/kit/:op", kit)
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

// serve runs e on a loopback listener until the test ends.
func serve(t *testing.T, e *echo.Echo) string {
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// inProcess returns h as a function serving one request in process.
func inProcess(h http.Handler) func(*http.Request) *http.Response {
	return func(r *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result()
	}
}

func TestAdapter(t *testing.T) {
	sessiontest.TestAdapter(t, sessiontest.Adapter{
		Serve: func(t *testing.T, m *session.Manager, ln net.Listener) {
			srv := httptest.NewUnstartedServer(newEcho(m))
			srv.Listener.Close()
			srv.Listener = ln
			srv.Start()
			t.Cleanup(srv.Close)
		},
		InProcess: func(t *testing.T, m *session.Manager) func(*http.Request) *http.Response {
			return inProcess(newEcho(m))
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
		t.Fatal("no error reached the HTTPErrorHandler")
		return nil
	}
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
	base := serve(t, e)
	resp := testenv.Get(t, base+"/late")
	ck := testenv.SessionCookie(t, resp)
	if body := testenv.ReadBody(t, resp); resp.StatusCode != http.StatusOK || body != "written" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if err := f.nextErr(t); !errors.Is(err, session.ErrLateChange) {
		t.Fatalf("error handler got %v, want ErrLateChange", err)
	}
	if log := f.Log.String(); !strings.Contains(log, "after the response headers were sent") || !strings.Contains(log, "late") {
		t.Fatalf("late change not logged: %q", log)
	}
	if body := testenv.ReadBody(t, testenv.Get(t, base+"/kit/get?k=early", ck)); body != "1" {
		t.Fatalf("early = %q", body)
	}
	if r := testenv.Get(t, base+"/kit/get?k=late", ck); r.StatusCode != http.StatusNotFound {
		t.Fatalf("the late change was saved: %d %q", r.StatusCode, testenv.ReadBody(t, r))
	}
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
		if !errors.Is(err, session.ErrStore) {
			t.Errorf("writing after a failed commit returned %v, want ErrStore", err)
		}
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
	base := serve(t, e)
	f.Fail.SetDown(true)
	for _, path := range []string{"/write", "/silent", "/stream"} {
		resp := testenv.Get(t, base+path)
		body := testenv.ReadBody(t, resp)
		if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "secret") ||
			strings.Contains(body, testenv.ErrDown.Error()) {
			t.Fatalf("%s: got %d %q, want a 500 without the handler's body or detail", path, resp.StatusCode, body)
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 || resp.Header.Get("Etag") != "" {
			t.Fatalf("%s: the failed response carries %q, ETag %q", path, sc, resp.Header.Get("Etag"))
		}
		if err := f.nextErr(t); !errors.Is(err, session.ErrStore) {
			t.Fatalf("%s: error handler got %v, want ErrStore", path, err)
		}
	}
	f.Fail.SetDown(false)
	if n, err := f.Mem.Len(t.Context()); n != 0 || err != nil {
		t.Fatalf("the store holds %d sessions (%v)", n, err)
	}
}

// TestGetWithoutMiddleware: the accessor on a request the middleware did
// not see fails clearly instead of panicking.
func TestGetWithoutMiddleware(t *testing.T) {
	e := echo.New()
	var got error
	e.GET("/", func(c echo.Context) error {
		_, got = echosession.Get(c)
		return got
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var he *echo.HTTPError
	if !errors.As(got, &he) || he.Code != http.StatusInternalServerError ||
		!errors.Is(got, session.ErrNoMiddleware) {
		t.Fatalf("Get without the middleware returned %v", got)
	}
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
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
			e.GET("/value", func(c echo.Context) error {
				sess, err := echosession.Get(c)
				if err != nil {
					return err
				}
				return c.String(http.StatusOK, fmt.Sprint(sess.Get("a")))
			})
			base := serve(t, e)

			// A new session: nothing stored, no cookie.
			resp := testenv.Get(t, base+"/panic")
			testenv.ReadBody(t, resp)
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			require.Empty(t, resp.Header.Values("Set-Cookie"), "a panicking handler's new session was committed")
			_, sets, _ := f.Count.Calls()
			require.Zero(t, sets, "store writes after a panic")

			// An existing session keeps its value.
			resp = testenv.Get(t, base+"/set")
			testenv.ReadBody(t, resp)
			cookie := testenv.SessionCookie(t, resp)
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
	sessiontest.FuzzCookieHeader(f, inProcess(newEcho(m)))
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
	url := serveHandler(t, http.TimeoutHandler(e, 300*time.Millisecond, "timed out"))

	resp := testenv.Get(t, url+"/anon")
	testenv.ReadBody(t, resp)
	anon := testenv.SessionCookie(t, resp)
	resp = testenv.Get(t, url+"/login", anon)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Empty(t, resp.Header.Values("Set-Cookie"))
	testenv.ReadBody(t, resp)
	require.Eventually(t, func() bool {
		return testenv.ReadBody(t, testenv.Get(t, url+"/value", anon)) == "anonymous"
	}, 5*time.Second, 20*time.Millisecond, "the pre-login session was lost with the response that never arrived")
}

// serveHandler runs h on a loopback listener until the test ends.
func serveHandler(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
