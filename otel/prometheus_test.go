package otelsession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
	otelsession "github.com/sessionkit/sessionkit/otel"
)

// TestMetricsAreServedAsPrometheusText runs two Managers, a login session
// and a preferences session, behind the real net/http adapter over real
// HTTP, and reads their metrics from /metrics as Prometheus scrapes them.
func TestMetricsAreServedAsPrometheusText(t *testing.T) {
	mp, metrics, err := otelsession.NewPrometheus()
	require.NoError(t, err)
	manager := func(name, cookie string) *session.Manager {
		obs, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithName(name))
		require.NoError(t, err)
		m, err := session.NewManager(session.WithObserver(obs), session.WithCookieName(cookie))
		require.NoError(t, err)
		t.Cleanup(func() { m.Close() })
		return m
	}
	login, prefs := manager("login", "sid"), manager("prefs", "prefs")

	views := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := httpsession.Get(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, s.Incr("n", 1))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /login", httpsession.Middleware(login)(views))
	mux.Handle("GET /prefs", httpsession.Middleware(prefs)(views))
	mux.Handle("GET /metrics", metrics)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// Three views of the login session, one of the preferences session.
	cookie := ""
	for i := 1; i <= 3; i++ {
		body, setCookie := get(t, srv.URL+"/login", cookie)
		assert.Equal(t, fmt.Sprint(i), body)
		if setCookie != "" {
			cookie = setCookie
		}
	}
	body, _ := get(t, srv.URL+"/prefs", "")
	assert.Equal(t, "1", body)

	text, _ := get(t, srv.URL+"/metrics", "")
	for _, line := range []string{
		"# TYPE sessionkit_session_loads_total counter",
		`sessionkit_session_loads_total{manager="login",result="new"} 1`,
		`sessionkit_session_loads_total{manager="login",result="found"} 2`,
		`sessionkit_session_loads_total{manager="prefs",result="new"} 1`,
		`sessionkit_session_commits_total{manager="login",result="written"} 3`,
		`sessionkit_sessions_created_total{manager="login"} 1`,
		`sessionkit_sessions_created_total{manager="prefs"} 1`,
		`sessionkit_store_calls_total{manager="login",op="get",outcome="ok"} 2`,
		`sessionkit_store_calls_total{manager="login",op="set_version",outcome="ok"} 3`,
		"# TYPE sessionkit_store_duration_seconds histogram",
		`sessionkit_store_duration_seconds_count{manager="login",op="set_version",outcome="ok"} 3`,
		`sessionkit_store_duration_seconds_bucket{manager="login",op="set_version",outcome="ok",le="10"} 3`,
		`sessionkit_store_duration_seconds_bucket{manager="login",op="set_version",outcome="ok",le="+Inf"} 3`,
	} {
		assert.Contains(t, text, line+"\n")
	}
	// Only the sessionkit metrics: no scope labels, no target_info.
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, "#") {
			assert.True(t, strings.HasPrefix(line, "sessionkit_"), "series %q", line)
			assert.NotContains(t, line, "otel_scope")
		}
	}
}

func TestNewPrometheusCanBeCalledTwice(t *testing.T) {
	// A registry of its own each: the second does not collide with the
	// first, as the default registry would.
	for range 2 {
		mp, h, err := otelsession.NewPrometheus()
		require.NoError(t, err)
		require.NotNil(t, mp)
		require.NotNil(t, h)
		_, err = otelsession.New(otelsession.WithMeterProvider(mp))
		require.NoError(t, err)
	}
}

// get fetches url with the cookie header given and returns the body and
// the value of the session cookie set, if any.
func get(t *testing.T, url, cookie string) (body, setCookie string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if cookie != "" {
		// The cookies are Secure; a jar would not send them over
		// loopback HTTP.
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	if cs := resp.Cookies(); len(cs) > 0 {
		setCookie = cs[0].Name + "=" + cs[0].Value
	}
	return string(b), setCookie
}
