package ginsession_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	session "github.com/sessionkit/sessionkit/core"
)

// benchWriter is a ResponseWriter reused across iterations.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
func (w *benchWriter) reset() { clear(w.h); w.status, w.n = 0, 0 }

func benchEngine(b *testing.B, m *session.Manager) *gin.Engine {
	e := newEngine(b)
	if m != nil {
		e.Use(ginsession.Middleware(m))
	}
	e.GET("/untouched", func(c *gin.Context) { c.Writer.WriteString("ok") })
	e.GET("/read", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return
		}
		n, _ := session.GetAs[int](sess, "n")
		c.Writer.WriteString(string(rune('0' + n%10)))
	})
	e.GET("/write", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return
		}
		n, _ := session.GetAs[int](sess, "n")
		sess.Set("n", n+1)
		c.Writer.WriteString("ok")
	})
	return e
}

func run(b *testing.B, h http.Handler, path string, withCookie bool) {
	b.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("User-Agent", "bench")
	w := &benchWriter{h: http.Header{}}
	if withCookie {
		// A first request creates the session.
		setup := httptest.NewRequest("GET", "/write", nil)
		setup.Header.Set("User-Agent", "bench")
		h.ServeHTTP(w, setup)
		c, err := http.ParseSetCookie(w.h.Get("Set-Cookie"))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Cookie", c.Name+"="+c.Value)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

func BenchmarkBare(b *testing.B) { run(b, benchEngine(b, nil), "/untouched", false) }

func BenchmarkUntouched(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	run(b, benchEngine(b, m), "/untouched", true)
}

func BenchmarkRead(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	run(b, benchEngine(b, m), "/read", true)
}

func BenchmarkWrite(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	run(b, benchEngine(b, m), "/write", true)
}
