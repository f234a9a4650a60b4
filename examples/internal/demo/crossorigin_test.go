package demo_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/stretchr/testify/assert"
)

// TestCheckCrossOrigin checks that the fiber demo's CheckCrossOrigin
// decides every combination of method, Sec-Fetch-Site, Origin and Host
// exactly as http.CrossOriginProtection, which the other demos use, and
// spot-checks the decisions themselves.
func TestCheckCrossOrigin(t *testing.T) {
	const host = "127.0.0.1:8080"
	p := http.NewCrossOriginProtection()
	for _, method := range []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"} {
		for _, site := range []string{"", "same-origin", "none", "same-site", "cross-site", "bogus"} {
			for _, origin := range []string{"", "http://" + host, "http://127.0.0.1:8081", "https://evil.example", "null", "%%"} {
				req := &http.Request{Method: method, Host: host, URL: &url.URL{Path: "/login"}, Header: http.Header{}}
				if site != "" {
					req.Header.Set("Sec-Fetch-Site", site)
				}
				if origin != "" {
					req.Header.Set("Origin", origin)
				}
				want := p.Check(req)
				got := demo.CheckCrossOrigin(method, host, "/login", site, origin)
				msg := []any{"CheckCrossOrigin(%s, Sec-Fetch-Site %q, Origin %q) = %v, http.CrossOriginProtection says %v",
					method, site, origin, got, want}
				if want == nil {
					assert.Nil(t, got, msg...)
				} else if assert.NotNil(t, got, msg...) {
					assert.Equal(t, 403, got.Status, msg...)
					assert.Equal(t, want.Error(), got.Error(), msg...)
				}
			}
		}
	}
	for _, tc := range []struct {
		method, site, origin string
		refused              bool
	}{
		{"POST", "", "", false},                              // curl, the load test
		{"POST", "same-origin", "http://" + host, false},     // the demo's own page
		{"POST", "", "http://" + host, false},                // an older browser on the demo's page
		{"POST", "same-site", "http://127.0.0.1:8081", true}, // another port of the same host
		{"POST", "", "http://127.0.0.1:8081", true},          // the same from an older browser
		{"POST", "cross-site", "https://evil.example", true},
		{"GET", "cross-site", "https://evil.example", false}, // safe methods pass
	} {
		r := demo.CheckCrossOrigin(tc.method, host, "/logout", tc.site, tc.origin)
		assert.Equal(t, tc.refused, r != nil, "CheckCrossOrigin(%s, %q, %q) = %v, want refused %t", tc.method, tc.site, tc.origin, r, tc.refused)
	}
}
