package httpsession_test

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

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

func BenchmarkBare(b *testing.B) { testenv.BenchHandler(b, benchMux(), "/untouched", "") }

func BenchmarkUntouched(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	testenv.BenchHandler(b, httpsession.Middleware(m)(benchMux()), "/untouched", "/write")
}

func BenchmarkRead(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	testenv.BenchHandler(b, httpsession.Middleware(m)(benchMux()), "/read", "/write")
}

func BenchmarkWrite(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	testenv.BenchHandler(b, httpsession.Middleware(m)(benchMux()), "/write", "/write")
}
