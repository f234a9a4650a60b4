package testenv

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Serve runs h on a loopback listener until the test ends and returns its
// base URL.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ServeOn runs h on ln until the test ends.
func ServeOn(t testing.TB, ln net.Listener, h http.Handler) {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// InProcess returns h as a function serving one request in process.
func InProcess(h http.Handler) func(*http.Request) *http.Response {
	return func(r *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result()
	}
}

// StartSession sends a GET to url, whose route must start a session, and
// returns the session's cookie.
func StartSession(t testing.TB, url string) *http.Cookie {
	t.Helper()
	resp := Get(t, url)
	ReadBody(t, resp)
	return SessionCookie(t, resp)
}

// WantErrorResponse reads resp and fails the test unless it is an answer
// to a session error: status, the body want (spaces around either
// ignored), Cache-Control: no-store and no cookie.
func WantErrorResponse(t testing.TB, resp *http.Response, status int, want string) {
	t.Helper()
	body := ReadBody(t, resp)
	if resp.StatusCode != status || strings.TrimSpace(body) != strings.TrimSpace(want) {
		t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, status, want)
	}
	if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("unexpected Set-Cookie %q", sc)
	}
}
