package httpsession_test

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kitMux mounts the conformance kit's routes on a ServeMux.
func kitMux() *http.ServeMux {
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter, r *http.Request, status int, body string, err error) {
		if err != nil {
			httpsession.Error(w, r, err)
			io.WriteString(w, "ignored") // a careless handler: the write fails
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
	kit := func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		var status int
		var body string
		if err == nil {
			status, body = sessiontest.Do(sess, r.PathValue("op"), r.URL.Query(), w.Header().Set)
		}
		answer(w, r, status, body, err)
	}
	kitFor := func(w http.ResponseWriter, r *http.Request) {
		status, body, err := sessiontest.DoFor(r.PathValue("op"), r.URL.Query(), w.Header().Set,
			func(m *session.Manager) (*session.Session, error) { return httpsession.GetFor(r, m) })
		answer(w, r, status, body, err)
	}
	mux.HandleFunc("GET /kit/{op}", kit)
	mux.HandleFunc("POST /kit/{op}", kit)
	mux.HandleFunc("GET /for/{op}", kitFor)
	mux.HandleFunc("POST /for/{op}", kitFor)
	mux.HandleFunc("GET /untouched", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		sessiontest.Do(sess, "set", r.URL.Query(), w.Header().Set)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		// Both ways to flush: the headers-only flush through
		// http.ResponseController (and Unwrap, for the deadline), the
		// others through http.Flusher.
		rc := http.NewResponseController(w)
		sessiontest.StreamBody(sess, r.URL.Query(), func(part string) error {
			if part == "" {
				if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
					return fmt.Errorf("SetWriteDeadline through Unwrap: %w", err)
				}
				return rc.Flush()
			}
			if _, err := io.WriteString(w, part); err != nil {
				return err
			}
			w.(http.Flusher).Flush()
			return nil
		})
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		sessiontest.Do(sess, "set", r.URL.Query(), w.Header().Set)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return // the middleware answered 500
		}
		defer conn.Close()
		sessiontest.Hijacked(sess, brw, w.Header())
	})
	return mux
}

func TestConformance(t *testing.T) {
	sessiontest.TestAdapter(t, sessiontest.Adapter{
		Serve: func(t *testing.T, m *session.Manager, ln net.Listener) {
			testenv.ServeOn(t, ln, httpsession.Middleware(m)(kitMux()))
		},
		InProcess: func(t *testing.T, m *session.Manager) func(*http.Request) *http.Response {
			return testenv.InProcess(httpsession.Middleware(m)(kitMux()))
		},
		ServeTwo: func(t *testing.T, outer, inner *session.Manager, ln net.Listener) {
			testenv.ServeOn(t, ln, httpsession.Middleware(outer)(httpsession.Middleware(inner)(kitMux())))
		},
	})
}

// served wraps h so that done receives once the middleware has returned.
func served(h http.Handler) (http.Handler, chan struct{}) {
	done := make(chan struct{}, 16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { done <- struct{}{} }()
		h.ServeHTTP(w, r)
	}), done
}

func wait(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the server never finished the request")
	}
}

// valueRoute answers the session value "k", or "missing".
func valueRoute(w http.ResponseWriter, r *http.Request) {
	sess, err := httpsession.Get(r)
	if err != nil {
		httpsession.Error(w, r, err)
		return
	}
	if v := sess.Get("k"); v != nil {
		fmt.Fprint(w, v)
		return
	}
	io.WriteString(w, "missing")
}

func TestLateChangeIsLogged(t *testing.T) {
	f := testenv.NewFixture(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /late", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := httpsession.Get(r)
		sess.Set("k", "early")
		io.WriteString(w, "body first")
		sess.Set("tardy", "x")
	})
	mux.HandleFunc("GET /value", valueRoute)
	h, done := served(httpsession.Middleware(f.Manager)(mux))
	url := testenv.Serve(t, h)

	resp := testenv.Get(t, url+"/late")
	require.Equal(t, "body first", testenv.ReadBody(t, resp))
	wait(t, done)
	log := f.Log.String()
	require.Contains(t, log, "after the response headers were sent", "ErrLateChange not logged")
	require.Contains(t, log, "tardy", "the late key is not named in the log")
	cookie := testenv.SessionCookie(t, resp)
	require.Equal(t, "early", testenv.ReadBody(t, testenv.Get(t, url+"/value", cookie)))
}

func TestCommitFailureAtHeaderTime(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       []httpsession.Option
		wantStatus int
		wantBody   string
	}{
		{"DefaultErrorHandler", nil, 500, "Internal Server Error\n"},
		{"CustomErrorHandler", []httpsession.Option{httpsession.WithErrorHandler(
			func(w http.ResponseWriter, r *http.Request, err error) {
				assert.ErrorIs(t, err, session.ErrStore, "the error handler's error")
				http.Error(w, "try later", http.StatusServiceUnavailable)
			})}, 503, "try later\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testenv.NewFixture(t)
			f.Fail.SetDown(true)
			writeErr := make(chan error, 1)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
				sess, err := httpsession.Get(r) // a new session: no store call yet
				if !assert.NoError(t, err) {
					return
				}
				sess.Set("k", "v")
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", "13")
				w.WriteHeader(http.StatusCreated)
				_, err = io.WriteString(w, `{"ok": true}`+"\n")
				writeErr <- err
			})
			url := testenv.Serve(t, httpsession.Middleware(f.Manager, tc.opts...)(mux))
			resp := testenv.Get(t, url+"/fail")
			body := testenv.ReadBody(t, resp)
			require.Equal(t, tc.wantStatus, resp.StatusCode, body)
			require.Equal(t, tc.wantBody, body)
			require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
			require.Empty(t, resp.Header.Values("Set-Cookie"))
			require.ErrorIs(t, <-writeErr, session.ErrStore, "the handler's Write after a failed commit")
			// Logged once, whoever answers.
			require.Equal(t, 1, strings.Count(f.Log.String(), "could not be saved"), f.Log.String())
		})
	}
}

func TestGetWithoutMiddleware(t *testing.T) {
	_, err := httpsession.Get(httptest.NewRequest("GET", "/", nil))
	require.ErrorIs(t, err, session.ErrNoMiddleware)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bare", func(w http.ResponseWriter, r *http.Request) {
		_, err := httpsession.Get(r)
		if errors.Is(err, session.ErrNoMiddleware) {
			http.Error(w, "no middleware", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, fmt.Sprint("unexpected: ", err))
	})
	resp := testenv.Get(t, testenv.Serve(t, mux)+"/bare")
	body := testenv.ReadBody(t, resp)
	require.Equal(t, 500, resp.StatusCode)
	require.Equal(t, "no middleware\n", body)
}

// TestErrorAnswersAsTheMiddlewareWould: httpsession.Error answers a Get
// error through the WithErrorHandler handler, logs it once with the
// Manager's logger, and fails the handler's later writes; on a route
// without the middleware it answers the default error response and logs
// with slog.Default.
func TestErrorAnswersAsTheMiddlewareWould(t *testing.T) {
	f := testenv.NewFixture(t)
	handled := make(chan error, 4)
	mw := httpsession.Middleware(f.Manager, httpsession.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		handled <- err
		http.Error(w, "try later", http.StatusServiceUnavailable)
	}))
	writeErr := make(chan error, 4)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /set", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := httpsession.Get(r)
		sess.Set("k", "v")
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		if _, err := httpsession.Get(r); err != nil {
			httpsession.Error(w, r, err)
			_, err = io.WriteString(w, "ignored")
			writeErr <- err
		}
	})
	url := testenv.Serve(t, mw(mux))
	cookie := testenv.StartSession(t, url+"/set")
	f.Fail.SetDown(true)
	testenv.WantErrorResponse(t, testenv.Get(t, url+"/get", cookie), http.StatusServiceUnavailable, "try later\n")
	require.ErrorIs(t, <-handled, session.ErrStore, "the error handler's error")
	require.ErrorIs(t, <-writeErr, session.ErrStore, "a write after Error")
	require.Equal(t, 1, strings.Count(f.Log.String(), testenv.ErrDown.Error()), f.Log.String())

	log := testenv.DefaultLog(t)
	bare := http.NewServeMux()
	bare.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		if _, err := httpsession.Get(r); err != nil {
			httpsession.Error(w, r, err)
		}
	})
	testenv.WantErrorResponse(t, testenv.Get(t, testenv.Serve(t, bare)+"/get"), session.ErrorStatus, session.ErrorBody)
	require.Contains(t, log.String(), session.ErrNoMiddleware.Error())
}

func TestMiddlewareWithANilManagerPanics(t *testing.T) {
	require.PanicsWithValue(t, "httpsession: Middleware with a nil Manager", func() { httpsession.Middleware(nil) })
}

func TestServeMuxPatterns(t *testing.T) {
	f := testenv.NewFixture(t)
	items := func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			httpsession.Error(w, r, err)
			return
		}
		key := "item-" + r.PathValue("id")
		n, _ := session.GetAs[int](sess, key)
		sess.Set(key, n+1)
		fmt.Fprintf(w, "%s=%d", key, n+1)
	}
	// Middleware around the whole mux, and around one route of a mux.
	outer := http.NewServeMux()
	outer.HandleFunc("GET /items/{id}", items)
	inner := http.NewServeMux()
	inner.Handle("GET /items/{id}", httpsession.Middleware(f.Manager)(http.HandlerFunc(items)))
	inner.HandleFunc("GET /open", valueRoute)
	for name, h := range map[string]http.Handler{"AroundMux": httpsession.Middleware(f.Manager)(outer), "PerRoute": inner} {
		t.Run(name, func(t *testing.T) {
			url := testenv.Serve(t, h)
			resp := testenv.Get(t, url+"/items/42")
			require.Equal(t, "item-42=1", testenv.ReadBody(t, resp))
			cookie := testenv.SessionCookie(t, resp)
			require.Equal(t, "item-42=2", testenv.ReadBody(t, testenv.Get(t, url+"/items/42", cookie)))
			require.Equal(t, "item-7=1", testenv.ReadBody(t, testenv.Get(t, url+"/items/7", cookie)))
		})
	}
	resp := testenv.Get(t, testenv.Serve(t, inner)+"/open")
	body := testenv.ReadBody(t, resp)
	require.Equal(t, 500, resp.StatusCode, "a route outside the middleware: %q", body)
}

func TestWithClientIP(t *testing.T) {
	f := testenv.NewFixture(t)
	// As behind a trusted proxy that reports the client in X-Client-Ip.
	mw := httpsession.Middleware(f.Manager, httpsession.WithClientIP(func(r *http.Request) string {
		return r.Header.Get("X-Client-Ip")
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /set", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := httpsession.Get(r)
		sess.Set("k", "from-a")
	})
	mux.HandleFunc("GET /value", valueRoute)
	url := testenv.Serve(t, mw(mux))
	do := func(path, ip string, cookies ...*http.Cookie) *http.Response {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("X-Client-Ip", ip)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := do("/set", "198.51.100.1")
	testenv.ReadBody(t, resp)
	cookie := testenv.SessionCookie(t, resp)
	require.Equal(t, "missing", testenv.ReadBody(t, do("/value", "198.51.100.2", cookie)), "another client IP read the session")
	require.Equal(t, "from-a", testenv.ReadBody(t, do("/value", "198.51.100.1", cookie)), "the same client IP")
}

func TestReadFromAndInformational(t *testing.T) {
	f := testenv.NewFixture(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := httpsession.Get(r)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints) // not the final headers: no commit yet
		sess.Set("k", "after-103")
		rf, ok := w.(io.ReaderFrom)
		if !assert.True(t, ok, "the ResponseWriter lost io.ReaderFrom") {
			return
		}
		_, err := rf.ReadFrom(io.LimitReader(strings.NewReader("payload-and-more"), 7))
		assert.NoError(t, err)
	})
	mux.HandleFunc("GET /value", valueRoute)
	url := testenv.Serve(t, httpsession.Middleware(f.Manager)(mux))
	var got1xx []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		got1xx = append(got1xx, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url+"/file", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, "payload", testenv.ReadBody(t, resp))
	require.Equal(t, []int{103}, got1xx)
	require.Equal(t, "after-103", testenv.ReadBody(t, testenv.Get(t, url+"/value", testenv.SessionCookie(t, resp))),
		"a change after a 103 was not saved")
}

// FuzzCookie runs the kit's fuzz body (sessiontest.FuzzCookieHeader)
// through the real router.
func FuzzCookie(f *testing.F) {
	sessiontest.FuzzCookieHeader(f, testenv.InProcess(httpsession.Middleware(testenv.NewFixture(f).Manager)(kitMux())))
}

// recoverer is recovery middleware in the style of chi's Recoverer: it
// answers a panic with a 500 from its deferred call.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rec := recover(); rec != nil {
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, "recovered")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func TestPanicCommitsNothingWhateverTheRecoveryOrder(t *testing.T) {
	for name, wrap := range map[string]func(m *session.Manager, mux http.Handler) http.Handler{
		"RecovererOutside": func(m *session.Manager, mux http.Handler) http.Handler {
			return recoverer(httpsession.Middleware(m)(mux))
		},
		"RecovererInside": func(m *session.Manager, mux http.Handler) http.Handler {
			return httpsession.Middleware(m)(recoverer(mux))
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := testenv.NewFixture(t)
			mux := http.NewServeMux()
			mux.HandleFunc("GET /set", func(w http.ResponseWriter, r *http.Request) {
				sess, _ := httpsession.Get(r)
				sess.Set("k", "before")
			})
			mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
				sess, _ := httpsession.Get(r)
				sess.Set("k", "half-done")
				panic("handler bug")
			})
			mux.HandleFunc("GET /value", valueRoute)
			url := testenv.Serve(t, wrap(f.Manager, mux))

			// A new session: nothing stored, no cookie.
			resp := testenv.Get(t, url+"/panic")
			require.Equal(t, 500, resp.StatusCode)
			require.Equal(t, "recovered", testenv.ReadBody(t, resp))
			require.Empty(t, resp.Header.Values("Set-Cookie"), "a panicking handler's new session was committed")
			_, sets, _ := f.Count.Calls()
			require.Zero(t, sets, "store writes after a panic")

			// An existing session keeps its value.
			cookie := testenv.StartSession(t, url+"/set")
			resp = testenv.Get(t, url+"/panic", cookie)
			testenv.ReadBody(t, resp)
			require.Equal(t, 500, resp.StatusCode)
			require.Equal(t, "before", testenv.ReadBody(t, testenv.Get(t, url+"/value", cookie)),
				"a panicking handler's half-done change was saved")
		})
	}
}

func TestTimeoutHandlerInsideTheMiddlewareKeepsALogin(t *testing.T) {
	f := testenv.NewFixture(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /anon", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := httpsession.Get(r)
		sess.Set("k", "anonymous")
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		sess.Regenerate()
		sess.Set("k", "ann")
		io.WriteString(w, "welcome") // into http.TimeoutHandler's buffer
		if r.URL.Query().Has("slow") {
			<-r.Context().Done() // until the TimeoutHandler gives up on us
		}
	})
	mux.HandleFunc("GET /value", valueRoute)
	// The documented order: the buffering wrapper inside the middleware.
	url := testenv.Serve(t, httpsession.Middleware(f.Manager)(http.TimeoutHandler(mux, 300*time.Millisecond, "timed out")))

	for _, path := range []string{"/login", "/login?slow=1"} {
		t.Run(path, func(t *testing.T) {
			anon := testenv.StartSession(t, url+"/anon")

			resp := testenv.Get(t, url+path, anon)
			body := testenv.ReadBody(t, resp)
			if path == "/login" {
				require.Equal(t, "welcome", body)
			} else {
				require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
				require.Equal(t, "timed out", body)
			}
			// Whichever answer the wrapper gave, it carries the new ID.
			login := testenv.SessionCookie(t, resp)
			require.NotEqual(t, anon.Value, login.Value, "Regenerate issued no new ID")
			require.Equal(t, "ann", testenv.ReadBody(t, testenv.Get(t, url+"/value", login)))
			require.Equal(t, "missing", testenv.ReadBody(t, testenv.Get(t, url+"/value", anon)),
				"the pre-login ID still works")
		})
	}
}

// gzipOuter is compression middleware that, like gin-contrib/gzip, sets
// Content-Encoding before the handler runs and compresses whatever passes.
func gzipOuter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		next.ServeHTTP(gzipWriter{w, gz}, r)
	})
}

type gzipWriter struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func (w gzipWriter) Write(p []byte) (int, error) { return w.gz.Write(p) }

func TestCommitFailureDropsOnlyTheHandlersContentEncoding(t *testing.T) {
	failing := func(precompressed bool) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
			sess, _ := httpsession.Get(r) // a new session: no store call yet
			sess.Set("k", "v")
			if precompressed { // a handler serving a pre-gzipped asset
				w.Header().Set("Content-Encoding", "gzip")
				gz := gzip.NewWriter(w)
				io.WriteString(gz, "asset")
				gz.Close()
				return
			}
			io.WriteString(w, "page")
		})
		return mux
	}
	for name, h := range map[string]func(m *session.Manager) http.Handler{
		"HandlersEncoding": func(m *session.Manager) http.Handler { return httpsession.Middleware(m)(failing(true)) },
		"OuterEncoding":    func(m *session.Manager) http.Handler { return gzipOuter(httpsession.Middleware(m)(failing(false))) },
	} {
		t.Run(name, func(t *testing.T) {
			f := testenv.NewFixture(t)
			f.Fail.SetDown(true)
			// The client asks for gzip itself and decodes what says gzip.
			resp := testenv.Get(t, testenv.Serve(t, h(f.Manager))+"/fail")
			body := testenv.ReadBody(t, resp)
			require.Equal(t, session.ErrorStatus, resp.StatusCode)
			require.Equal(t, session.ErrorBody, body)
			require.Equal(t, name == "OuterEncoding", resp.Uncompressed, "the error body's Content-Encoding")
		})
	}
}

// TestTimeoutHandlerOutsideTheMiddlewareLosesNoLogin: in the wrong order,
// http.TimeoutHandler outside the middleware, a slow login commits into
// the wrapper's buffer and the wrapper then answers 503 without the new
// cookie. The move is undone: the client's pre-login session still works,
// and the login simply did not happen.
func TestTimeoutHandlerOutsideTheMiddlewareLosesNoLogin(t *testing.T) {
	f := testenv.NewFixture(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /anon", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := httpsession.Get(r)
		sess.Set("k", "anonymous")
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		sess.Regenerate()
		sess.Set("k", "ann")
		w.WriteHeader(http.StatusOK) // the commit, into the wrapper's buffer
		<-r.Context().Done()         // until the TimeoutHandler gives up on us
	})
	mux.HandleFunc("GET /value", valueRoute)
	url := testenv.Serve(t, http.TimeoutHandler(httpsession.Middleware(f.Manager)(mux), 300*time.Millisecond, "timed out"))

	anon := testenv.StartSession(t, url+"/anon")
	resp := testenv.Get(t, url+"/login", anon)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Empty(t, resp.Header.Values("Set-Cookie"), "the wrapper's 503 carries no cookie")
	testenv.ReadBody(t, resp)
	require.Eventually(t, func() bool {
		return testenv.ReadBody(t, testenv.Get(t, url+"/value", anon)) == "anonymous"
	}, 5*time.Second, 20*time.Millisecond, "the pre-login session was lost with the response that never arrived")
}

func TestGetForAllocatesNothing(t *testing.T) {
	outer, inner := testenv.NewFixture(t).Manager, testenv.NewFixture(t, session.WithCookieName("inner")).Manager
	allocs := -1.0
	h := httpsession.Middleware(outer)(httpsession.Middleware(inner)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allocs = testing.AllocsPerRun(100, func() {
			httpsession.GetFor(r, outer)
			httpsession.GetFor(r, inner)
			httpsession.Get(r)
		})
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	require.Zero(t, allocs)
}
