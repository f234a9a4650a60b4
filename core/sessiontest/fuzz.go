package sessiontest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	session "github.com/sessionkit/sessionkit/core"
)

// FuzzCookieHeader is the body of an adapter's fuzz target over arbitrary
// Cookie headers. serve must send one request in process through the
// adapter's real router, with the kit's routes (see Do) mounted and a
// Manager with the default cookie name, and return the response.
//
// Whatever the header, the request must succeed (no panic, no 500); it may
// reach the stored session only when the header carries that session's
// exact ID; and a new session must get a fresh server-made ID that appears
// nowhere in the header. In seeds and fuzzed input the text VALID stands
// for the ID of a stored session.
func FuzzCookieHeader(f *testing.F, serve func(*http.Request) *http.Response) {
	visit := func(cookie string) (n int, set []*http.Cookie, status int, body string) {
		req, err := http.NewRequest(http.MethodPost, "http://kit.test/kit/incr?k=n", nil)
		if err != nil {
			f.Fatal(err)
		}
		req.Header.Set("User-Agent", "fuzz")
		if cookie != "" {
			req.Header["Cookie"] = []string{cookie}
		}
		resp := serve(req)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		for _, c := range resp.Cookies() {
			if c.Name == session.DefaultCookieName {
				set = append(set, c)
			}
		}
		return n, set, resp.StatusCode, string(b)
	}
	_, set, _, _ := visit("")
	if len(set) != 1 || !session.ValidID(set[0].Value) {
		f.Fatalf("no valid session to seed with: %v", set)
	}
	valid := set[0].Value
	for _, seed := range []string{
		"", "sid=VALID", "sid=VALID; sid=VALID", "sid=VALID; sid=other", "sid=; sid=VALID",
		"a=1; sid=VALID; b=2", `sid="VALID"`, "sid=", "sid", "=", ";;;", "sid=%%%; ;;=;",
		"sid=" + strings.Repeat("A", session.IDLength), "sid=é" + strings.Repeat("x", 41), "SID=VALID",
		" sid = VALID ", "sid=VALID\x00", "sid=\x00\xff", "sid=" + strings.Repeat("x", 8<<10),
		strings.Repeat("sid=VALID;", 300),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		raw = strings.ReplaceAll(raw, "VALID", valid)
		n, set, status, body := visit(raw)
		if status != http.StatusOK || n < 1 {
			t.Fatalf("Cookie %q: status %d %q", raw, status, body)
		}
		if n > 1 { // reached the stored session
			if len(set) != 0 || !strings.Contains(raw, valid) {
				t.Fatalf("Cookie %q reached a stored session and got Set-Cookie %v", raw, set)
			}
			return
		}
		if len(set) != 1 || !session.ValidID(set[0].Value) || strings.Contains(raw, set[0].Value) {
			t.Fatalf("Cookie %q: a new session must get a fresh server-made ID, got %v", raw, set)
		}
	})
}
