package demo_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		assert.Equal(t, tc.want, demo.BodyLimit(tc.method, tc.path), "BodyLimit(%s %s)", tc.method, tc.path)
	}
	require.GreaterOrEqual(t, demo.MaxBodySize, demo.MaxFormSize, "MaxBodySize is not the largest limit")
	require.GreaterOrEqual(t, demo.MaxBodySize, demo.MaxValueSize, "MaxBodySize is not the largest limit")
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
		if tc.want == 0 {
			assert.Nil(t, r, "CheckBody(%s %s, %q, %d) = %v, want it taken", tc.method, tc.path, tc.enc, tc.size, r)
		} else if assert.NotNil(t, r, "CheckBody(%s %s, %q, %d), want %d", tc.method, tc.path, tc.enc, tc.size, tc.want) {
			assert.Equal(t, tc.want, r.Status, "CheckBody(%s %s, %q, %d) = %v", tc.method, tc.path, tc.enc, tc.size, r)
		}
	}
	assert.EqualError(t, demo.TooLarge("POST", "/login"), "request body must be at most 2048 bytes", "TooLarge(/login)")
	assert.EqualError(t, demo.TooLarge("POST", "/logout"), "this route takes no request body", "TooLarge(/logout)")
	assert.Equal(t, 400, demo.BodyTooLarge.Status, "BodyTooLarge")
	assert.EqualError(t, demo.BodyTooLarge, "request body too large", "BodyTooLarge")
}

func TestRefusalResponse(t *testing.T) {
	r := demo.TooLarge("PUT", "/api/values/k")
	ct, body := r.Response("/api/values/k")
	assert.Equal(t, demo.ContentTypeJSON, ct, "API refusal")
	assert.Equal(t, `{"error":"request body must be at most 4096 bytes"}`+"\n", string(body), "API refusal")
	ct, body = r.Response("/login")
	assert.Equal(t, demo.ContentTypeText, ct, "form refusal")
	assert.Equal(t, "request body must be at most 4096 bytes\n", string(body), "form refusal")
}
