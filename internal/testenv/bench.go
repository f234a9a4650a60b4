package testenv

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchHandler benchmarks h serving GET path in process, reusing one
// request and one ResponseWriter so that only the handler's own cost is
// measured; every response must be 200. With seedPath set, a first request
// to seedPath creates a session and the benchmarked request carries its
// cookie, so the cookie is parsed on every iteration.
func BenchHandler(b *testing.B, h http.Handler, path, seedPath string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("User-Agent", "bench")
	w := &benchWriter{h: http.Header{}}
	if seedPath != "" {
		seed := httptest.NewRequest(http.MethodGet, seedPath, nil)
		seed.Header.Set("User-Agent", "bench")
		h.ServeHTTP(w, seed)
		c, err := http.ParseSetCookie(w.h.Get("Set-Cookie"))
		if err != nil {
			b.Fatalf("seeding a session at %s: %v", seedPath, err)
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

// benchWriter is a ResponseWriter reused across iterations.
type benchWriter struct {
	h      http.Header
	status int
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
	return len(p), nil
}

func (w *benchWriter) reset() { clear(w.h); w.status = 0 }
