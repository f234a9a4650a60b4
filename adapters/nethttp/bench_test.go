package httpsession_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
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

func benchMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /untouched", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /read", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		n, _ := session.GetAs[int](sess, "n")
		w.Write(strconv.AppendInt(nil, int64(n), 10))
	})
	mux.HandleFunc("GET /write", func(w http.ResponseWriter, r *http.Request) {
		sess, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		n, _ := session.GetAs[int](sess, "n")
		sess.Set("n", n+1)
		io.WriteString(w, "ok")
	})
	return mux
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

func BenchmarkBare(b *testing.B) { run(b, benchMux(), "/untouched", false) }

func BenchmarkUntouched(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	run(b, httpsession.Middleware(m)(benchMux()), "/untouched", true)
}

func BenchmarkRead(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	run(b, httpsession.Middleware(m)(benchMux()), "/read", true)
}

func BenchmarkWrite(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	run(b, httpsession.Middleware(m)(benchMux()), "/write", true)
}
