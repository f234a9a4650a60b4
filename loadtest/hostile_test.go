package loadtest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostileCase is one hostile request pattern and what must come of it;
// the name states the expected outcome.
type hostileCase struct {
	name string
	run  func(t *testing.T, base string)
}

// randomID returns a well-formed session ID that no server made.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// freshSession checks that r started a new session (one view, no user)
// with a new server-made ID other than each of not.
func freshSession(t *testing.T, r rawResp, not ...string) {
	t.Helper()
	if st := r.state(t); st.Views != 1 || st.User != "" {
		t.Fatalf("want a fresh session (views 1, no user), got %+v", st)
	}
	id := r.sid()
	if id == "" {
		t.Fatal("a fresh session that was written to got no cookie")
	}
	for _, n := range not {
		if id == n {
			t.Fatal("the server adopted the ID the client sent")
		}
	}
}

// intact checks that session id still has exactly views views.
func intact(t *testing.T, base, id string, views int) {
	t.Helper()
	if st := peekAs(t, base, id); st.Views != views {
		t.Fatalf("the original session has %d views, want %d: the hostile request changed it", st.Views, views)
	}
}

var hostileCases = []hostileCase{
	{"GarbageCookie_FreshSession", func(t *testing.T, base string) {
		for _, v := range []string{"!!garbage%%", "a", "\"quoted\"", "....", strings.Repeat("*", 43), "sid"} {
			freshSession(t, rawReq{method: "GET", path: "/api/session", cookie: sidCookie(v)}.do(t, base), v)
		}
	}},
	{"TruncatedCookie_FreshSession_OriginalIntact", func(t *testing.T, base string) {
		id := newSession(t, base)
		for _, v := range []string{id[:42], id[:20], id[1:]} {
			freshSession(t, rawReq{method: "GET", path: "/api/session", cookie: sidCookie(v)}.do(t, base), v, id)
		}
		intact(t, base, id, 1)
	}},
	{"OversizedCookie_NoSessionOr431_Never500", func(t *testing.T, base string) {
		id := newSession(t, base)
		views := 1
		for i, cookie := range []string{
			sidCookie(id + strings.Repeat("A", 8300)),                 // an oversized session cookie
			sidCookie(strings.Repeat("B", 9000)),                      // the same, no valid prefix
			"pad=" + strings.Repeat("x", 8200) + "; " + sidCookie(id), // 8 KiB of other cookies, then the real one
		} {
			r := rawReq{method: "GET", path: "/api/session", cookie: cookie}.do(t, base)
			switch r.status {
			case http.StatusOK:
				st := r.state(t)
				switch {
				case i < 2:
					freshSession(t, r, id)
				case st.Views == views+1 && len(r.cookies) == 0: // the real cookie was found
					views++
				default:
					t.Fatalf("8 KiB of other cookies before the session cookie: %+v, want the session found", st)
				}
			case http.StatusRequestHeaderFieldsTooLarge, http.StatusBadRequest:
				// The framework's header limit: refused before any handler.
				t.Logf("an %d-byte Cookie header: %d (the framework's header limit)", len(cookie), r.status)
			default:
				t.Fatalf("an %d-byte Cookie header answered %d %q, want 200 or 431", len(cookie), r.status, truncate(r.body, 100))
			}
		}
		intact(t, base, id, views)
	}},
	{"NonASCIICookie_FreshSession", func(t *testing.T, base string) {
		id := newSession(t, base)
		for _, v := range []string{id[:41] + "é", "сессия", id[:40] + "\xff\xfe\x80", "\xe2\x80\x8b" + id} {
			r := rawReq{method: "GET", path: "/api/session", cookie: sidCookie(v)}.do(t, base)
			if r.status == http.StatusBadRequest {
				continue // refused by the framework's header parser: fine
			}
			freshSession(t, r, id)
		}
		intact(t, base, id, 1)
	}},
	{"DuplicatedCookies_SameValueFound_DifferentValuesFreshSession", func(t *testing.T, base string) {
		id := newSession(t, base)
		// The same value twice: that session.
		r := rawReq{method: "GET", path: "/api/peek", cookie: sidCookie(id) + "; " + sidCookie(id)}.do(t, base)
		if st := r.state(t); st.Views != 1 {
			t.Fatalf("the same cookie twice found %+v, want the session", st)
		}
		// Two different values (a sibling domain tossing one in): no session
		// at all, whichever comes first, in one header or in two.
		other := newSession(t, base)
		for _, req := range []rawReq{
			{method: "GET", path: "/api/session", cookie: sidCookie(id) + "; " + sidCookie(other)},
			{method: "GET", path: "/api/session", cookie: sidCookie(other) + "; " + sidCookie(id)},
			{method: "GET", path: "/api/session", cookie: sidCookie(randomID()) + "; " + sidCookie(id)},
			{method: "GET", path: "/api/session", cookie: sidCookie(id), headers: []string{"Cookie: " + sidCookie(other)}},
		} {
			freshSession(t, req.do(t, base), id, other)
		}
		intact(t, base, id, 1)
		intact(t, base, other, 1)
	}},
	{"UnknownIDsOfTheRightLength_NeverAdopted", func(t *testing.T, base string) {
		good := randomID()
		for _, v := range []string{
			good,                       // well-formed, never issued
			good[:42] + "B",            // not canonical base64 (low bits set)
			strings.Repeat("+", 43),    // standard base64, not URL-safe
			good[:41] + "==",           // padded
			strings.Repeat("A", 43),    // all zero bits
			good[:42] + "/",            // a character outside the alphabet
			strings.ToUpper(good[:43]), // shape only
		} {
			freshSession(t, rawReq{method: "GET", path: "/api/session", cookie: sidCookie(v)}.do(t, base), v)
		}
		if st := peekAs(t, base, good); st.Views != 0 {
			t.Fatalf("the unknown ID found a session after being presented: %+v", st)
		}
	}},
	{"ReplayWithAnotherUserAgent_FindsNothing", func(t *testing.T, base string) {
		id := newSession(t, base)
		for _, ua := range []string{"Mozilla/5.0 (evil)", "-", DefaultUserAgent + ".1", strings.ToUpper(DefaultUserAgent)} {
			r := rawReq{method: "GET", path: "/api/peek", ua: ua, cookie: sidCookie(id)}.do(t, base)
			if st := r.state(t); st.Views != 0 {
				t.Fatalf("the cookie replayed with User-Agent %q found the session: %+v", ua, st)
			}
			// A write with it makes a new session, never touches the victim's.
			freshSession(t, rawReq{method: "GET", path: "/api/session", ua: ua, cookie: sidCookie(id)}.do(t, base), id)
		}
		intact(t, base, id, 1)
	}},
	{"ReplayFromAnotherIP_FindsNothing", func(t *testing.T, base string) {
		id := newSession(t, base)
		r := rawReq{method: "GET", path: "/api/peek", from: "127.0.0.2", cookie: sidCookie(id)}.do(t, base)
		if st := r.state(t); st.Views != 0 {
			t.Fatalf("the cookie replayed from 127.0.0.2 found the session: %+v", st)
		}
		freshSession(t, rawReq{method: "GET", path: "/api/session", from: "127.0.0.2", cookie: sidCookie(id)}.do(t, base), id)
		intact(t, base, id, 1)
	}},
	{"ForwardedHeadersSpoofed_SessionStillFound_NotMoved", func(t *testing.T, base string) {
		spoof := []string{"X-Forwarded-For: 198.51.100.7", "X-Real-IP: 198.51.100.7", "Forwarded: for=198.51.100.7", "True-Client-IP: 198.51.100.7", "X-Client-IP: 198.51.100.7"}
		id := newSession(t, base)
		// The owner sending forwarding headers: no proxy is trusted, so
		// the session is found and written as usual.
		r := rawReq{method: "GET", path: "/api/session", cookie: sidCookie(id), headers: spoof}.do(t, base)
		if st := r.state(t); st.Views != 2 || len(r.cookies) != 0 {
			t.Fatalf("with spoofed forwarding headers: %+v, cookies %v; want the session found (views 2), no new cookie", st, r.cookies)
		}
		intact(t, base, id, 2)
		// A thief on another address claiming the owner's: nothing.
		claim := []string{"X-Forwarded-For: 127.0.0.1", "X-Real-IP: 127.0.0.1", "Forwarded: for=127.0.0.1"}
		r = rawReq{method: "GET", path: "/api/peek", from: "127.0.0.2", cookie: sidCookie(id), headers: claim}.do(t, base)
		if st := r.state(t); st.Views != 0 {
			t.Fatalf("a client at 127.0.0.2 claiming 127.0.0.1 by header found the session: %+v", st)
		}
		intact(t, base, id, 2)
	}},
	{"FixedSessionID_DoesNotSurviveLogin", func(t *testing.T, base string) {
		// The attacker gets a real session and plants its ID in the
		// victim's browser (same NAT, same browser string).
		planted := newSession(t, base)
		r := rawReq{method: "POST", path: "/api/login", cookie: sidCookie(planted),
			headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: url.Values{"user": {"victim"}}.Encode()}.do(t, base)
		if st := r.state(t); st.User != "victim" {
			t.Fatalf("login: %+v", st)
		}
		after := r.sid()
		if after == "" || after == planted {
			t.Fatal("login kept the planted session ID")
		}
		if st := peekAs(t, base, planted); st.Views != 0 || st.User != "" {
			t.Fatalf("the planted ID still finds a session after the login: %+v", st)
		}
		if st := peekAs(t, base, after); st.User != "victim" || st.Views != 1 {
			t.Fatalf("the new ID finds %+v, want the victim's session with its view", st)
		}
		// An ID the attacker made up is not even adopted.
		made := randomID()
		r = rawReq{method: "POST", path: "/api/login", cookie: sidCookie(made),
			headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: "user=victim2"}.do(t, base)
		if r.state(t).User != "victim2" || r.sid() == "" || r.sid() == made {
			t.Fatal("login with a made-up ID did not get a server-made one")
		}
	}},
	{"CookieReplayedAfterLogout_FindsNothing", func(t *testing.T, base string) {
		r := rawReq{method: "POST", path: "/api/login", headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: "user=leaver"}.do(t, base)
		id := r.sid()
		if r.state(t).User != "leaver" || id == "" {
			t.Fatal("login failed")
		}
		if r := (rawReq{method: "PUT", path: "/api/values/secret", cookie: sidCookie(id), body: "s3cret"}).do(t, base); r.status != http.StatusNoContent {
			t.Fatalf("PUT: %d", r.status)
		}
		r = rawReq{method: "POST", path: "/api/logout", cookie: sidCookie(id)}.do(t, base)
		if r.status != http.StatusOK || len(r.cookies) != 1 || r.cookies[0].MaxAge >= 0 {
			t.Fatalf("logout: %d, cookies %v; want 200 and the cookie expired", r.status, r.cookies)
		}
		if st := peekAs(t, base, id); st.Views != 0 || st.User != "" {
			t.Fatalf("the cookie replayed after logout finds %+v", st)
		}
		if r := (rawReq{method: "GET", path: "/api/values/secret", cookie: sidCookie(id)}).do(t, base); r.status != http.StatusNotFound {
			t.Fatalf("the value after logout: %d %q, want 404", r.status, r.body)
		}
		// Writing with the dead cookie starts a new session; it does not
		// bring the old one back.
		r = rawReq{method: "PUT", path: "/api/values/k", cookie: sidCookie(id), body: "v"}.do(t, base)
		if r.status != http.StatusNoContent || r.sid() == "" || r.sid() == id {
			t.Fatalf("PUT with the dead cookie: %d, new ID %t; want 204 with a new session", r.status, r.sid() != "" && r.sid() != id)
		}
		if st := peekAs(t, base, id); st.User != "" {
			t.Fatal("the logged-out session came back")
		}
	}},
	{"HugeValues_Over4KiB400_ManyValuesStillWork", func(t *testing.T, base string) {
		id := newSession(t, base)
		r := rawReq{method: "PUT", path: "/api/values/big", cookie: sidCookie(id), body: strings.Repeat("x", 4097)}.do(t, base)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "4096") {
			t.Fatalf("PUT of 4097 bytes: %d %q, want 400 naming the limit", r.status, r.body)
		}
		r = rawReq{method: "PUT", path: "/api/values/big", cookie: sidCookie(id), body: strings.Repeat("x", 1<<20)}.do(t, base)
		if r.status != http.StatusBadRequest {
			t.Fatalf("PUT of 1 MiB: %d, want 400", r.status)
		}
		if r := (rawReq{method: "GET", path: "/api/values/big", cookie: sidCookie(id)}).do(t, base); r.status != http.StatusNotFound {
			t.Fatalf("a refused value was stored: %d", r.status)
		}
		// 64 values of 4 KiB: a 256 KiB session still loads and commits.
		const n = 64
		for i := range n {
			v := fmt.Sprintf("%03d", i) + strings.Repeat("v", 4093)
			if r := (rawReq{method: "PUT", path: fmt.Sprintf("/api/values/v%d", i), cookie: sidCookie(id), body: v}).do(t, base); r.status != http.StatusNoContent {
				t.Fatalf("PUT value %d of 4 KiB: %d %q", i, r.status, truncate(r.body, 100))
			}
		}
		for i := range n {
			want := fmt.Sprintf("%03d", i) + strings.Repeat("v", 4093)
			if r := (rawReq{method: "GET", path: fmt.Sprintf("/api/values/v%d", i), cookie: sidCookie(id)}).do(t, base); r.status != http.StatusOK || r.body != want {
				t.Fatalf("GET value %d: %d, %d bytes", i, r.status, len(r.body))
			}
		}
		intact(t, base, id, 1)
	}},
}

// TestHostileInput sends every hostileCase to every framework's demo over
// real HTTP (memory store). The expected outcome is in each case's name
// and in the checks: a malformed, unknown, replayed or duplicated cookie
// gets a fresh session with a server-made ID and never a 500; the session
// it aimed at is untouched; no ID appears in an error body; the demo logs
// no panic and no session ID.
func TestHostileInput(t *testing.T) {
	for _, fw := range Frameworks {
		t.Run(fw, func(t *testing.T) {
			d := startDemo(t, fw)
			for _, c := range hostileCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, d.URL) })
			}
			if r := (rawReq{method: "GET", path: "/healthz"}).do(t, d.URL); r.status != http.StatusOK {
				t.Fatalf("healthz after the hostile requests: %d", r.status)
			}
		})
	}
}
