package session_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

func TestCookieValuesMatchesNetHTTP(t *testing.T) {
	for _, lines := range [][]string{
		nil,
		{"sid=abc"},
		{"a=1; sid=abc; b=2"},
		{"sid=abc; sid=def"},
		{"sid=abc", "sid=def"},
		{`sid="quoted"`},
		{" sid = spaced "},
		{"sid="},
		{"sid"},
		{"SID=upper; sid=lower"},
		{";;; sid=x ;;"},
		{"other=sid=1"},
	} {
		h := http.Header{"Cookie": lines}
		var want []string
		for _, c := range (&http.Request{Header: h}).CookiesNamed("sid") {
			want = append(want, c.Value)
		}
		got := session.CookieValues(h, "sid")
		assert.Equal(t, want, got, "%q", lines)
	}
}

func BenchmarkCookieValues(b *testing.B) {
	h := http.Header{"Cookie": {"_ga=GA1.2.3.4; sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; theme=dark"}}
	b.ReportAllocs()
	for b.Loop() {
		// require only on failure: its bookkeeping would outweigh the parse.
		if got := session.CookieValues(h, "sid"); len(got) != 1 {
			require.Len(b, got, 1, "sid not found")
		}
	}
}
