package loadtest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
	require.Equal(t, State{Views: 1}, r.state(t), "want a fresh session (views 1, no user)")
	id := r.sid()
	require.NotEmpty(t, id, "a fresh session that was written to got no cookie")
	require.NotContains(t, not, id, "the server adopted the ID the client sent")
}

// intact checks that session id still has exactly views views.
func intact(t *testing.T, base, id string, views int) {
	t.Helper()
	require.Equal(t, views, peekAs(t, base, id).Views, "the original session's views: the hostile request changed them")
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
					require.Failf(t, "session not found", "8 KiB of other cookies before the session cookie: %+v, want the session found", st)
				}
			case http.StatusRequestHeaderFieldsTooLarge, http.StatusBadRequest:
				// The framework's header limit: refused before any handler.
				t.Logf("an %d-byte Cookie header: %d (the framework's header limit)", len(cookie), r.status)
			default:
				require.Failf(t, "unexpected status", "an %d-byte Cookie header answered %d %q, want 200 or 431", len(cookie), r.status, truncate(r.body, 100))
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
		require.Equal(t, 1, r.state(t).Views, "the same cookie twice: want the session")
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
		require.Zero(t, peekAs(t, base, good).Views, "the unknown ID found a session after being presented")
	}},
	{"ReplayWithAnotherUserAgent_FindsNothing", func(t *testing.T, base string) {
		id := newSession(t, base)
		for _, ua := range []string{"Mozilla/5.0 (evil)", "-", DefaultUserAgent + ".1", strings.ToUpper(DefaultUserAgent)} {
			r := rawReq{method: "GET", path: "/api/peek", ua: ua, cookie: sidCookie(id)}.do(t, base)
			require.Zero(t, r.state(t).Views, "the cookie replayed with User-Agent %q found the session", ua)
			// A write with it makes a new session, never touches the victim's.
			freshSession(t, rawReq{method: "GET", path: "/api/session", ua: ua, cookie: sidCookie(id)}.do(t, base), id)
		}
		intact(t, base, id, 1)
	}},
	{"ReplayFromAnotherIP_FindsNothing", func(t *testing.T, base string) {
		id := newSession(t, base)
		r := rawReq{method: "GET", path: "/api/peek", from: "127.0.0.2", cookie: sidCookie(id)}.do(t, base)
		require.Zero(t, r.state(t).Views, "the cookie replayed from 127.0.0.2 found the session")
		freshSession(t, rawReq{method: "GET", path: "/api/session", from: "127.0.0.2", cookie: sidCookie(id)}.do(t, base), id)
		intact(t, base, id, 1)
	}},
	{"ForwardedHeadersSpoofed_SessionStillFound_NotMoved", func(t *testing.T, base string) {
		spoof := []string{"X-Forwarded-For: 198.51.100.7", "X-Real-IP: 198.51.100.7", "Forwarded: for=198.51.100.7", "True-Client-IP: 198.51.100.7", "X-Client-IP: 198.51.100.7"}
		id := newSession(t, base)
		// The owner sending forwarding headers: no proxy is trusted, so
		// the session is found and written as usual.
		r := rawReq{method: "GET", path: "/api/session", cookie: sidCookie(id), headers: spoof}.do(t, base)
		require.Equal(t, 2, r.state(t).Views, "with spoofed forwarding headers: want the session found (views 2)")
		require.Empty(t, r.cookies, "with spoofed forwarding headers: want no new cookie")
		intact(t, base, id, 2)
		// A thief on another address claiming the owner's: nothing.
		claim := []string{"X-Forwarded-For: 127.0.0.1", "X-Real-IP: 127.0.0.1", "Forwarded: for=127.0.0.1"}
		r = rawReq{method: "GET", path: "/api/peek", from: "127.0.0.2", cookie: sidCookie(id), headers: claim}.do(t, base)
		require.Zero(t, r.state(t).Views, "a client at 127.0.0.2 claiming 127.0.0.1 by header found the session")
		intact(t, base, id, 2)
	}},
	{"FixedSessionID_DoesNotSurviveLogin", func(t *testing.T, base string) {
		// The attacker gets a real session and plants its ID in the
		// victim's browser (same NAT, same browser string).
		planted := newSession(t, base)
		r := rawReq{method: "POST", path: "/api/login", cookie: sidCookie(planted),
			headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: url.Values{"user": {"victim"}}.Encode()}.do(t, base)
		require.Equal(t, "victim", r.state(t).User, "login")
		after := r.sid()
		require.NotEmpty(t, after, "login set no session ID")
		require.NotEqual(t, planted, after, "login kept the planted session ID")
		require.Equal(t, State{}, peekAs(t, base, planted), "the planted ID still finds a session after the login")
		require.Equal(t, State{Views: 1, User: "victim"}, peekAs(t, base, after), "the new ID: want the victim's session with its view")
		// An ID the attacker made up is not even adopted.
		made := randomID()
		r = rawReq{method: "POST", path: "/api/login", cookie: sidCookie(made),
			headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: "user=victim2"}.do(t, base)
		require.Equal(t, "victim2", r.state(t).User, "login with a made-up ID")
		require.NotEmpty(t, r.sid(), "login with a made-up ID did not get a server-made one")
		require.NotEqual(t, made, r.sid(), "login with a made-up ID did not get a server-made one")
	}},
	{"CookieReplayedAfterLogout_FindsNothing", func(t *testing.T, base string) {
		r := rawReq{method: "POST", path: "/api/login", headers: []string{"Content-Type: application/x-www-form-urlencoded"}, body: "user=leaver"}.do(t, base)
		id := r.sid()
		require.Equal(t, "leaver", r.state(t).User, "login failed")
		require.NotEmpty(t, id, "login failed: no session ID")
		r = rawReq{method: "PUT", path: "/api/values/secret", cookie: sidCookie(id), body: "s3cret"}.do(t, base)
		require.Equal(t, http.StatusNoContent, r.status, "PUT")
		r = rawReq{method: "POST", path: "/api/logout", cookie: sidCookie(id)}.do(t, base)
		require.Equal(t, http.StatusOK, r.status, "logout")
		require.Len(t, r.cookies, 1, "logout: want the cookie expired")
		require.Negative(t, r.cookies[0].MaxAge, "logout: want the cookie expired")
		require.Equal(t, State{}, peekAs(t, base, id), "the cookie replayed after logout finds a session")
		r = rawReq{method: "GET", path: "/api/values/secret", cookie: sidCookie(id)}.do(t, base)
		require.Equal(t, http.StatusNotFound, r.status, "the value after logout: %q, want 404", r.body)
		// Writing with the dead cookie starts a new session; it does not
		// bring the old one back.
		r = rawReq{method: "PUT", path: "/api/values/k", cookie: sidCookie(id), body: "v"}.do(t, base)
		require.Equal(t, http.StatusNoContent, r.status, "PUT with the dead cookie")
		require.NotEmpty(t, r.sid(), "PUT with the dead cookie: want a new session")
		require.NotEqual(t, id, r.sid(), "PUT with the dead cookie: want a new session")
		require.Empty(t, peekAs(t, base, id).User, "the logged-out session came back")
	}},
	{"HugeValues_Over4KiB400_ManyValuesStillWork", func(t *testing.T, base string) {
		id := newSession(t, base)
		r := rawReq{method: "PUT", path: "/api/values/big", cookie: sidCookie(id), body: strings.Repeat("x", 4097)}.do(t, base)
		require.Equal(t, http.StatusBadRequest, r.status, "PUT of 4097 bytes: %q, want 400 naming the limit", r.body)
		require.Contains(t, r.body, "4096", "PUT of 4097 bytes: want 400 naming the limit")
		r = rawReq{method: "PUT", path: "/api/values/big", cookie: sidCookie(id), body: strings.Repeat("x", 1<<20)}.do(t, base)
		require.Equal(t, http.StatusBadRequest, r.status, "PUT of 1 MiB")
		r = rawReq{method: "GET", path: "/api/values/big", cookie: sidCookie(id)}.do(t, base)
		require.Equal(t, http.StatusNotFound, r.status, "a refused value was stored")
		// 64 values of 4 KiB: a 256 KiB session still loads and commits.
		const n = 64
		for i := range n {
			v := fmt.Sprintf("%03d", i) + strings.Repeat("v", 4093)
			r := rawReq{method: "PUT", path: fmt.Sprintf("/api/values/v%d", i), cookie: sidCookie(id), body: v}.do(t, base)
			require.Equal(t, http.StatusNoContent, r.status, "PUT value %d of 4 KiB: %q", i, truncate(r.body, 100))
		}
		for i := range n {
			want := fmt.Sprintf("%03d", i) + strings.Repeat("v", 4093)
			r := rawReq{method: "GET", path: fmt.Sprintf("/api/values/v%d", i), cookie: sidCookie(id)}.do(t, base)
			require.Equal(t, http.StatusOK, r.status, "GET value %d", i)
			require.True(t, r.body == want, "GET value %d: %d bytes, not the value written", i, len(r.body))
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
			r := rawReq{method: "GET", path: "/healthz"}.do(t, d.URL)
			require.Equal(t, http.StatusOK, r.status, "healthz after the hostile requests")
		})
	}
}
