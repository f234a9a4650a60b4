package ginsession_test

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

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// newEngine returns an engine trusting no proxy.
func newEngine(t testing.TB) *gin.Engine {
	e := gin.New()
	require.NoError(t, e.SetTrustedProxies(nil))
	return e
}

func kitRoutes(r gin.IRoutes) {
	answer := func(c *gin.Context, status int, body string, err error) {
		if err != nil { // the accessor took gin's error path
			c.String(http.StatusOK, "ignored") // a careless handler: refused
			return
		}
		c.String(status, "%s", body)
	}
	kit := func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		var status int
		var body string
		if err == nil {
			status, body = sessiontest.Do(sess, c.Param("op"), c.Request.URL.Query(), c.Header)
		}
		answer(c, status, body, err)
	}
	kitFor := func(c *gin.Context) {
		status, body, err := sessiontest.DoFor(c.Param("op"), c.Request.URL.Query(), c.Header,
			func(m *session.Manager) (*session.Session, error) { return ginsession.GetFor(c, m) })
		answer(c, status, body, err)
	}
	r.GET("/kit/:op", kit)
	r.POST("/kit/:op", kit)
	r.GET("/for/:op", kitFor)
	r.POST("/for/:op", kitFor)
	r.GET("/untouched", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	r.GET("/stream", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return
		}
		sessiontest.Do(sess, "set", c.Request.URL.Query(), c.Header)
		c.Header("Content-Type", "text/plain; charset=utf-8")
		// Both ways to flush: the headers-only flush through
		// http.ResponseController (and Unwrap, for the deadline), the
		// others through gin's Flush.
		rc := http.NewResponseController(c.Writer)
		sessiontest.StreamBody(sess, c.Request.URL.Query(), func(part string) error {
			if part == "" {
				if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
					return fmt.Errorf("SetWriteDeadline through Unwrap: %w", err)
				}
				return rc.Flush()
			}
			if _, err := c.Writer.WriteString(part); err != nil {
				return err
			}
			c.Writer.Flush()
			return nil
		})
	})
	r.GET("/hijack", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return
		}
		sessiontest.Do(sess, "set", c.Request.URL.Query(), c.Header)
		conn, brw, err := http.NewResponseController(c.Writer).Hijack()
		if err != nil {
			return // the middleware answered 500
		}
		defer conn.Close()
		sessiontest.Hijacked(sess, brw, c.Writer.Header())
	})
}

// kitEngine returns an engine with the session middlewares of ms and the
// kit's routes.
func kitEngine(t testing.TB, ms ...*session.Manager) *gin.Engine {
	e := newEngine(t)
	for _, m := range ms {
		e.Use(ginsession.Middleware(m))
	}
	kitRoutes(e)
	return e
}

func TestConformance(t *testing.T) {
	sessiontest.TestAdapter(t, sessiontest.Adapter{
		Serve: func(t *testing.T, m *session.Manager, ln net.Listener) { testenv.ServeOn(t, ln, kitEngine(t, m)) },
		InProcess: func(t *testing.T, m *session.Manager) func(*http.Request) *http.Response {
			return testenv.InProcess(kitEngine(t, m))
		},
		ServeTwo: func(t *testing.T, outer, inner *session.Manager, ln net.Listener) {
			testenv.ServeOn(t, ln, kitEngine(t, outer, inner))
		},
	})
}

// fixture is the kit's Fixture plus the c.Errors of each request.
type fixture struct {
	*testenv.Fixture
	errs chan []error // c.Errors of each request, once the chain is done
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return &fixture{Fixture: testenv.NewFixture(t), errs: make(chan []error, 16)}
}

// engine returns an engine whose first middleware reports c.Errors to
// f.errs, then the session middleware.
func (f *fixture) engine(t testing.TB) *gin.Engine {
	e := newEngine(t)
	e.Use(func(c *gin.Context) {
		defer func() {
			var errs []error
			for _, e := range c.Errors {
				errs = append(errs, e.Err)
			}
			f.errs <- errs
		}()
		c.Next()
	}, ginsession.Middleware(f.Manager))
	e.GET("/value", valueRoute)
	return e
}

// nextErrs returns c.Errors of the next finished request.
func (f *fixture) nextErrs(t *testing.T) []error {
	t.Helper()
	select {
	case errs := <-f.errs:
		return errs
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the server never finished the request")
		return nil
	}
}

func hasErr(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// valueRoute answers the session value "k", or "missing".
func valueRoute(c *gin.Context) {
	sess, err := ginsession.Get(c)
	if err != nil {
		return
	}
	if v := sess.Get("k"); v != nil {
		c.String(http.StatusOK, "%v", v)
		return
	}
	c.String(http.StatusOK, "missing")
}

func TestStream(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t)
	e.GET("/events", func(c *gin.Context) {
		sess, _ := ginsession.Get(c)
		sess.Set("k", "events")
		i := 0
		c.Stream(func(w io.Writer) bool {
			c.SSEvent("tick", i)
			i++
			return i < 3
		})
	})
	url := testenv.Serve(t, e)
	resp := testenv.Get(t, url+"/events")
	body := testenv.ReadBody(t, resp)
	require.Equal(t, 3, strings.Count(body, "event:tick"), body)
	require.Equal(t, "events", testenv.ReadBody(t, testenv.Get(t, url+"/value", testenv.SessionCookie(t, resp))))
}

func TestLateChange(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t)
	e.GET("/late", func(c *gin.Context) {
		sess, _ := ginsession.Get(c)
		sess.Set("k", "early")
		c.String(http.StatusOK, "body first")
		sess.Set("tardy", "x")
	})
	url := testenv.Serve(t, e)
	resp := testenv.Get(t, url+"/late")
	require.Equal(t, "body first", testenv.ReadBody(t, resp))
	errs := f.nextErrs(t)
	require.True(t, hasErr(errs, session.ErrLateChange), "c.Errors = %v, want ErrLateChange", errs)
	require.Contains(t, fmt.Sprint(errs), "tardy", "ErrLateChange names the key")
	require.Contains(t, f.Log.String(), "tardy", "the core did not log the late change")
	require.Equal(t, "early", testenv.ReadBody(t, testenv.Get(t, url+"/value", testenv.SessionCookie(t, resp))))
	f.nextErrs(t)
}

func TestCommitFailureAtHeaderTime(t *testing.T) {
	for name, respond := range map[string]func(c *gin.Context) error{
		"JSON": func(c *gin.Context) error {
			c.JSON(http.StatusCreated, gin.H{"ok": true})
			_, err := c.Writer.WriteString("more")
			return err
		},
		"StatusOnly": func(c *gin.Context) error { c.Status(http.StatusAccepted); return nil },
		"Flush": func(c *gin.Context) error {
			c.Status(http.StatusCreated)
			c.Writer.Flush()
			_, err := c.Writer.Write([]byte("after flush"))
			return err
		},
		"Hijack": func(c *gin.Context) error {
			conn, _, err := c.Writer.Hijack()
			if err == nil {
				conn.Close()
			}
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.Fail.SetDown(true)
			writeErr := make(chan error, 1)
			e := f.engine(t)
			e.GET("/fail", func(c *gin.Context) {
				sess, err := ginsession.Get(c) // a new session: no store call yet
				if !assert.NoError(t, err) {
					return
				}
				sess.Set("k", "v")
				c.Header("Content-Length", "12")
				writeErr <- respond(c)
			})
			url := testenv.Serve(t, e)
			resp := testenv.Get(t, url+"/fail")
			body := testenv.ReadBody(t, resp)
			require.Equal(t, 500, resp.StatusCode, body)
			require.Equal(t, "Internal Server Error\n", body)
			require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
			require.Empty(t, resp.Header.Values("Set-Cookie"))
			errs := f.nextErrs(t)
			require.True(t, hasErr(errs, session.ErrStore), "c.Errors = %v, want a session.ErrStore", errs)
			if err := <-writeErr; name != "StatusOnly" {
				require.ErrorIs(t, err, session.ErrStore, "the handler's output after a failed commit")
			}
			require.Equal(t, 1, strings.Count(f.Log.String(), "could not be saved"), "logged once: %s", f.Log)
		})
	}
}

func TestGetWithoutMiddleware(t *testing.T) {
	f := newFixture(t)
	e := newEngine(t)
	log := testenv.DefaultLog(t)
	e.GET("/bare", func(c *gin.Context) {
		_, err := ginsession.Get(c)
		assert.ErrorIs(t, err, session.ErrNoMiddleware)
		c.String(http.StatusOK, "ignored") // refused
		var errs []error
		for _, e := range c.Errors {
			errs = append(errs, e.Err)
		}
		f.errs <- errs
	})
	resp := testenv.Get(t, testenv.Serve(t, e)+"/bare")
	testenv.WantErrorResponse(t, resp, 500, "Internal Server Error\n")
	errs := f.nextErrs(t)
	require.True(t, hasErr(errs, session.ErrNoMiddleware), "c.Errors = %v", errs)
	require.Contains(t, log.String(), session.ErrNoMiddleware.Error(), "logged with slog.Default")
}

// wrapWriter is a later middleware that wraps c.Writer without Unwrap, as
// compression middleware does.
type wrapWriter struct {
	gin.ResponseWriter
	n int
}

func (w *wrapWriter) Write(p []byte) (int, error) { w.n += len(p); return w.ResponseWriter.Write(p) }

func (w *wrapWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func TestWrappedWriterAndCopy(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t)
	g := e.Group("/g", func(c *gin.Context) {
		w := &wrapWriter{ResponseWriter: c.Writer}
		c.Writer = w
		c.Next()
		c.Writer = w.ResponseWriter
	})
	g.GET("/copy", func(c *gin.Context) {
		sess, err := ginsession.Get(c) // found through the request context
		if err != nil {
			return
		}
		sess.Set("k", "outer")
		done := make(chan string)
		cp := c.Copy()
		go func() {
			s, err := ginsession.Get(cp)
			if err != nil {
				done <- err.Error()
				return
			}
			s.Set("k2", "from-copy")
			done <- fmt.Sprint(s == sess)
		}()
		c.String(http.StatusOK, "same session in copy: %s", <-done)
	})
	url := testenv.Serve(t, e)
	resp := testenv.Get(t, url+"/g/copy")
	require.Equal(t, "same session in copy: true", testenv.ReadBody(t, resp))
	require.Empty(t, f.nextErrs(t), "c.Errors")
	require.Equal(t, "outer", testenv.ReadBody(t, testenv.Get(t, url+"/value", testenv.SessionCookie(t, resp))))
}

func TestPanicCommitsNothingWhateverTheRecoveryOrder(t *testing.T) {
	recovery := gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) {
		c.String(http.StatusInternalServerError, "recovered")
	})
	for name, order := range map[string]func(m *session.Manager) []gin.HandlerFunc{
		"RecoveryOutside": func(m *session.Manager) []gin.HandlerFunc {
			return []gin.HandlerFunc{recovery, ginsession.Middleware(m)}
		},
		"RecoveryInside": func(m *session.Manager) []gin.HandlerFunc {
			return []gin.HandlerFunc{ginsession.Middleware(m), recovery}
		},
		"DefaultRecoveryInside": func(m *session.Manager) []gin.HandlerFunc {
			return []gin.HandlerFunc{ginsession.Middleware(m), gin.RecoveryWithWriter(io.Discard)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			e := newEngine(t)
			e.Use(order(f.Manager)...)
			e.GET("/set", func(c *gin.Context) {
				sess, _ := ginsession.Get(c)
				sess.Set("k", "before")
			})
			e.GET("/panic", func(c *gin.Context) {
				sess, _ := ginsession.Get(c)
				sess.Set("k", "half-done")
				panic("boom")
			})
			e.GET("/value", valueRoute)
			url := testenv.Serve(t, e)

			// A new session: nothing stored, no cookie.
			resp := testenv.Get(t, url+"/panic")
			body := testenv.ReadBody(t, resp)
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode, body)
			require.Empty(t, resp.Header.Values("Set-Cookie"), "a panicking handler's new session was committed")
			_, sets, _ := f.Count.Calls()
			require.Zero(t, sets, "store writes after a panic")

			// An existing session keeps its value.
			cookie := testenv.StartSession(t, url+"/set")
			resp = testenv.Get(t, url+"/panic", cookie)
			testenv.ReadBody(t, resp)
			require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			require.Equal(t, "before", testenv.ReadBody(t, testenv.Get(t, url+"/value", cookie)),
				"a panicking handler's half-done change was saved")
		})
	}
}

// FuzzCookie runs the kit's fuzz body (sessiontest.FuzzCookieHeader)
// through the real router.
func FuzzCookie(f *testing.F) {
	sessiontest.FuzzCookieHeader(f, testenv.InProcess(kitEngine(f, newFixture(f).Manager)))
}

// TestTimeoutHandlerOutsideTheMiddlewareLosesNoLogin: with
// http.TimeoutHandler around the whole engine, a slow login commits into
// the wrapper's buffer and the wrapper answers 503 without the new cookie.
// The move is undone, so the client's pre-login session still works.
func TestTimeoutHandlerOutsideTheMiddlewareLosesNoLogin(t *testing.T) {
	f := testenv.NewFixture(t)
	e := newEngine(t)
	e.Use(ginsession.Middleware(f.Manager))
	e.GET("/anon", func(c *gin.Context) {
		sess, _ := ginsession.Get(c)
		sess.Set("k", "anonymous")
	})
	e.GET("/login", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return
		}
		sess.Regenerate()
		sess.Set("k", "ann")
		c.Writer.WriteHeaderNow() // the commit, into the wrapper's buffer
		<-c.Request.Context().Done()
	})
	e.GET("/value", valueRoute)
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

// TestGetErrorIsAnsweredOnceWithoutTheHandlersLaterOutput: a Get that
// cannot load the session answers the error response once, logs the error
// once, and the handler's later output, were it to write any, does not
// reach the client.
func TestGetErrorIsAnsweredOnceWithoutTheHandlersLaterOutput(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t)
	e.GET("/careless", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			c.JSON(http.StatusOK, gin.H{"appended": true})
			return
		}
		sess.Set("k", "v")
	})
	url := testenv.Serve(t, e)
	cookie := testenv.StartSession(t, url+"/careless")
	f.nextErrs(t)
	f.Fail.SetDown(true)
	resp := testenv.Get(t, url+"/careless", cookie)
	require.Equal(t, session.ErrorBody, testenv.ReadBody(t, resp), "exactly the error response")
	require.Equal(t, session.ErrorStatus, resp.StatusCode)
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	errs := f.nextErrs(t)
	require.NotEmpty(t, errs, "c.Errors")
	for _, err := range errs { // Get's, and gin's record of the refused write
		require.ErrorIs(t, err, session.ErrStore)
	}
	require.Equal(t, 1, strings.Count(f.Log.String(), testenv.ErrDown.Error()), "logged once: %s", f.Log)
}

// TestWithErrorHandlerAnswersSessionErrors: the error handler answers a
// failed load and a failed commit, after gin's error path has the error.
func TestWithErrorHandlerAnswersSessionErrors(t *testing.T) {
	f := newFixture(t)
	e := newEngine(t)
	e.Use(func(c *gin.Context) {
		c.Next()
		f.errs <- []error{c.Errors.Last()}
	}, ginsession.Middleware(f.Manager, ginsession.WithErrorHandler(func(c *gin.Context, err error) {
		assert.NotNil(t, c.Errors.Last(), "the error is in c.Errors first")
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "try later"})
	})))
	e.GET("/set", func(c *gin.Context) {
		if sess, err := ginsession.Get(c); err == nil {
			sess.Set("k", "v")
			c.String(http.StatusOK, "page")
		}
	})
	url := testenv.Serve(t, e)
	cookie := testenv.StartSession(t, url+"/set")
	f.nextErrs(t)
	f.Fail.SetDown(true)
	for name, cookies := range map[string][]*http.Cookie{"load": {cookie}, "commit": nil} {
		testenv.WantErrorResponse(t, testenv.Get(t, url+"/set", cookies...), http.StatusServiceUnavailable, `{"error":"try later"}`)
		require.ErrorIs(t, f.nextErrs(t)[0], session.ErrStore, name)
	}
}

func TestMiddlewareWithANilManagerPanics(t *testing.T) {
	require.PanicsWithValue(t, "ginsession: Middleware with a nil Manager", func() { ginsession.Middleware(nil) })
}

func TestGetForAllocatesNothing(t *testing.T) {
	outer, inner := testenv.NewFixture(t).Manager, testenv.NewFixture(t, session.WithCookieName("inner")).Manager
	allocs := -1.0
	e := newEngine(t)
	e.Use(ginsession.Middleware(outer), ginsession.Middleware(inner))
	e.GET("/", func(c *gin.Context) {
		allocs = testing.AllocsPerRun(100, func() {
			ginsession.GetFor(c, outer)
			ginsession.GetFor(c, inner)
			ginsession.Get(c)
		})
	})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.Zero(t, allocs)
}
