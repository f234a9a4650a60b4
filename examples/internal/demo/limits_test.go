package demo_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

func TestBodyLimit(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         int64
	}{
		{"POST", "/login", demo.MaxFormSize},
		{"POST", "/api/login", demo.MaxFormSize},
		{"PUT", "/api/values/k", demo.MaxValueSize},
		{"POST", "/logout", 0},
		{"POST", "/api/logout", 0},
		{"GET", "/api/values/k", 0},
		{"DELETE", "/api/values/k", 0},
		{"GET", "/", 0},
		{"GET", "/login", 0},
		{"PUT", "/api/values", 0},
		{"POST", "/nowhere", 0},
	} {
		if got := demo.BodyLimit(tc.method, tc.path); got != tc.want {
			t.Errorf("BodyLimit(%s %s) = %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
	if demo.MaxBodySize < demo.MaxFormSize || demo.MaxBodySize < demo.MaxValueSize {
		t.Fatal("MaxBodySize is not the largest limit")
	}
}

func TestCheckBody(t *testing.T) {
	for _, tc := range []struct {
		method, path, enc string
		size              int64
		want              int // 0: taken
	}{
		{"POST", "/login", "", demo.MaxFormSize, 0},
		{"POST", "/login", "", demo.MaxFormSize + 1, 400},
		{"PUT", "/api/values/k", "", demo.MaxValueSize, 0},
		{"PUT", "/api/values/k", "", demo.MaxValueSize + 1, 400},
		{"PUT", "/api/values/k", "", -1, 0}, // chunked: not known yet
		{"PUT", "/api/values/k", "gzip", 10, 415},
		{"PUT", "/api/values/k", "gzip", 1 << 20, 400}, // the limit first
		{"PUT", "/api/values/k", "identity", 10, 0},
		{"PUT", "/api/values/k", "IDENTITY", 10, 0},
		{"PUT", "/api/values/k", "gzip", 0, 0}, // no body, nothing encoded
		{"POST", "/api/logout", "", 0, 0},
		{"POST", "/api/logout", "", 1, 400},
		{"GET", "/", "", 1, 400},
	} {
		r := demo.CheckBody(tc.method, tc.path, tc.enc, tc.size)
		switch {
		case tc.want == 0 && r != nil:
			t.Errorf("CheckBody(%s %s, %q, %d) = %d %v, want it taken", tc.method, tc.path, tc.enc, tc.size, r.Status, r)
		case tc.want != 0 && (r == nil || r.Status != tc.want):
			t.Errorf("CheckBody(%s %s, %q, %d) = %v, want %d", tc.method, tc.path, tc.enc, tc.size, r, tc.want)
		}
	}
	if r := demo.TooLarge("POST", "/login"); r.Error() != "request body must be at most 2048 bytes" {
		t.Errorf("TooLarge(/login) = %q", r)
	}
	if r := demo.TooLarge("POST", "/logout"); r.Error() != "this route takes no request body" {
		t.Errorf("TooLarge(/logout) = %q", r)
	}
	if r := demo.BodyTooLarge; r.Status != 400 || r.Error() != "request body too large" {
		t.Errorf("BodyTooLarge = %d %q", r.Status, r)
	}
}

func TestRefusalResponse(t *testing.T) {
	r := demo.TooLarge("PUT", "/api/values/k")
	if ct, body := r.Response("/api/values/k"); ct != demo.ContentTypeJSON ||
		string(body) != `{"error":"request body must be at most 4096 bytes"}`+"\n" {
		t.Errorf("API refusal = %q %q", ct, body)
	}
	if ct, body := r.Response("/login"); ct != demo.ContentTypeText || string(body) != "request body must be at most 4096 bytes\n" {
		t.Errorf("form refusal = %q %q", ct, body)
	}
}
