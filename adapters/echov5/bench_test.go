package echov5session_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"
	echov5session "github.com/sessionkit/sessionkit/adapters/echov5"
	session "github.com/sessionkit/sessionkit/core"
)

// benchWriter is a reusable http.ResponseWriter that keeps the headers and
// drops the body.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkEchoV5 measures a request through the real router: without the
// middleware (bare), with it but not touching the session (untouched),
// reading an int from an existing session (read) and incrementing it
// (write). The session lives in a MemoryStore.
func BenchmarkEchoV5(b *testing.B) {
	m, err := session.NewManager()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	handlers := func(e *echo.Echo) {
		e.GET("/untouched", func(c *echo.Context) error { return c.String(http.StatusOK, "ok") })
		e.GET("/read", func(c *echo.Context) error {
			sess, err := echov5session.Get(c)
			if err != nil {
				return err
			}
			n, _ := session.GetAs[int](sess, "n")
			if n < 1 {
				return c.String(http.StatusNotFound, "missing")
			}
			return c.String(http.StatusOK, "ok")
		})
		e.GET("/write", func(c *echo.Context) error {
			sess, err := echov5session.Get(c)
			if err != nil {
				return err
			}
			n, _ := session.GetAs[int](sess, "n")
			sess.Set("n", n+1)
			return c.String(http.StatusOK, "ok")
		})
	}
	bare := echo.New()
	handlers(bare)
	e := echo.New()
	e.Use(echov5session.Middleware(m))
	handlers(e)

	// A session holding n, for the client the benchmark requests come from.
	w := &benchWriter{h: http.Header{}}
	r0 := httptest.NewRequest(http.MethodGet, "/write", nil)
	r0.Header.Set("User-Agent", "bench")
	e.ServeHTTP(w, r0)
	cookie := (&http.Response{Header: w.h}).Cookies()[0]

	for _, bc := range []struct {
		name, path string
		e          *echo.Echo
	}{
		{"bare", "/untouched", bare},
		{"untouched", "/untouched", e},
		{"read", "/read", e},
		{"write", "/write", e},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			req.Header.Set("User-Agent", "bench")
			req.AddCookie(cookie)
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				bc.e.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
