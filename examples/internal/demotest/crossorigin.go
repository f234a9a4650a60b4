package demotest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// CrossOrigin checks the demo's CSRF protection over real HTTP, with the
// headers a browser sends: a POST to /logout, /login, /api/logout or
// /api/login, and a PUT or DELETE of a value, sent from another origin (a
// page on another port of the same host, same-site; a page of another
// site; an older browser that sends Origin but no Sec-Fetch-Site) is
// refused with 403, sets no cookie and changes nothing, whether the victim
// is logged in (its session stays as it was) or not (no session is
// planted: login CSRF). The same requests from the demo's own origin, and
// from clients that send neither header (curl, the load test), succeed. It
// returns every session ID the demo handed out.
func CrossOrigin(t *testing.T, base string) (ids []string) {
	rec := new(recorder)
	client := func(t *testing.T) *Client { return &Client{t: t, Base: base, rec: rec} }
	defer func() { ids = client(t).Seen() }()

	u, err := url.Parse(base)
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())
	otherPort := fmt.Sprintf("http://%s:%d", u.Hostname(), port%65535+1) // same host, another port

	hostile := []struct {
		name   string
		header http.Header
	}{
		{"SameSiteOtherPort", http.Header{"Origin": {otherPort}, "Sec-Fetch-Site": {"same-site"}}},
		{"CrossSite", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}},
		{"OldBrowserOtherPort", http.Header{"Origin": {otherPort}}},
		{"CrossSiteNoOrigin", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
	}
	for _, h := range hostile {
		t.Run("Refused/"+h.name, func(t *testing.T) {
			victim := client(t)
			victim.PostForm("/api/login", url.Values{"user": {"victim"}}).Want(200, ctJSON, StateJSON(0, "victim"))
			victim.Do("PUT", "/api/values/k", "", []byte("mine")).Want(204, "", "")
			sid := victim.SID

			// The forged requests carry the victim's cookie, as a browser
			// does on a same-site request (SameSite=Lax lets it through).
			forged := victim.With(base, sid)
			forged.Header = h.header
			for _, req := range []struct {
				method, path, contentType, body string
			}{
				{"POST", "/logout", "application/x-www-form-urlencoded", ""},
				{"POST", "/api/logout", "", ""},
				{"POST", "/login", "application/x-www-form-urlencoded", "user=mallory"},
				{"POST", "/api/login", "application/x-www-form-urlencoded", "user=mallory"},
				{"PUT", "/api/values/k", "text/plain", "forged"},
				{"DELETE", "/api/values/k", "", ""},
			} {
				what := fmt.Sprintf("%s %s from %s", req.method, req.path, h.name)
				r := forged.Do(req.method, req.path, req.contentType, []byte(req.body)).NoCookie()
				wantRefused(t, what, r, 403, req.path, "cross-origin request")
			}
			require.Equal(t, sid, forged.SID, "a refused request changed the session cookie")
			// Nothing changed: still logged in, the value intact, no view
			// counted.
			victim.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "victim")).NoCookie()
			victim.Get("/api/values/k").Want(200, ctText, "mine")

			// Login CSRF: a visitor without a session gets none.
			anon := client(t)
			anon.Header = h.header
			anon.PostForm("/api/login", url.Values{"user": {"mallory"}}).WantJSONError(403).NoCookie()
			wantRefused(t, "POST /login without a session from "+h.name,
				anon.PostForm("/login", url.Values{"user": {"mallory"}}).NoCookie(), 403, "/login", "cross-origin request")

			// Reads are not refused (a browser keeps the answer from the
			// other origin unless CORS allows it); they change nothing.
			forged.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "victim")).NoCookie()
		})
	}

	allowed := []struct {
		name   string
		header http.Header
	}{
		{"NoBrowserHeaders", nil}, // curl, scripts, the load test
		{"SameOrigin", http.Header{"Origin": {base}, "Sec-Fetch-Site": {"same-origin"}}},
		{"OldBrowserSameOrigin", http.Header{"Origin": {base}}},
		{"UserTyped", http.Header{"Sec-Fetch-Site": {"none"}}},
	}
	for _, h := range allowed {
		t.Run("Allowed/"+h.name, func(t *testing.T) {
			c := client(t)
			c.Header = h.header
			r := c.PostForm("/api/login", url.Values{"user": {"ann"}}).Want(200, ctJSON, StateJSON(0, "ann"))
			r.NewCookie()
			c.Do("PUT", "/api/values/k", "text/plain", []byte("v")).Want(204, "", "")
			c.Do("DELETE", "/api/values/k", "", nil).Want(204, "", "")
			c.Do("POST", "/api/logout", "", nil).Want(200, ctJSON, `{"destroyed":true}`+"\n").ExpiredCookie()
			wantSeeOther(t, c.PostForm("/login", url.Values{"user": {"bob"}}))
			c.Get("/api/peek").Want(200, ctJSON, StateJSON(0, "bob"))
			wantSeeOther(t, c.PostForm("/logout", nil).ExpiredCookie())
		})
	}
	return nil
}
