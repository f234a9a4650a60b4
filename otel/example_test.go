package otelsession_test

import (
	"bufio"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
	otelsession "github.com/sessionkit/sessionkit/otel"
)

// A Manager reporting to OpenTelemetry, with its metrics served as
// Prometheus text on /metrics.
func Example() {
	mp, metrics, err := otelsession.NewPrometheus()
	if err != nil {
		log.Fatal(err)
	}
	obs, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithName("login"))
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.NewManager(session.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	app := http.NewServeMux()
	app.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, "unavailable", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, s.Incr("views", 1))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics) // Prometheus scrapes this
	mux.Handle("/", httpsession.Middleware(m)(app))
	srv := httptest.NewServer(mux) // http.ListenAndServe(addr, mux) in a real server
	defer srv.Close()

	for range 2 { // two visitors
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "sessionkit_sessions_created_total") ||
			strings.HasPrefix(line, "sessionkit_store_calls_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// sessionkit_sessions_created_total{manager="login"} 2
	// sessionkit_store_calls_total{manager="login",op="set_version",outcome="ok"} 2
}
