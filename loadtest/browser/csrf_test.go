package browser

import (
	"context"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// attackPage is a page of another origin that posts an empty form to its
// target as soon as it has loaded: a cross-site request forgery of the
// demo's logout button.
var attackPage = template.Must(template.New("attack").Parse(`<!doctype html>
<title>another origin</title>
<form id="forged" method="post" action="{{.}}"></form>
<script>window.addEventListener("load", () => document.getElementById("forged").submit())</script>
`))

// TestCrossOriginLogoutRefused shows in Chromium that every demo refuses
// a forged logout. The user logs in through the demo's form, then opens a
// page served from another origin: another port of 127.0.0.1, so the same
// site, and Chromium sends the SameSite=Lax session cookie with the
// forged POST. That page submits a form to the demo's /logout on load. The
// demo must answer 403 (http.CrossOriginProtection, or fiber's equivalent)
// and the user stays logged in, with the same cookie. Then fetch calls
// from the demo's own page (a PUT of a value, a POST to /api/logout) still
// work: the protection refuses other origins only.
func TestCrossOriginLogoutRefused(t *testing.T) {
	browser, bins := setup(t)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		attackPage.Execute(w, r.URL.Query().Get("target"))
	}))
	t.Cleanup(attacker.Close)
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			crossOriginLogout(t, browser, filepath.Join(bins, fw), fw, attacker.URL)
		})
	}
}

func crossOriginLogout(t *testing.T, browser context.Context, bin, framework, attacker string) {
	d := startDemo(t, bin, framework)
	b := openTab(t, browser, "http://127.0.0.1:"+d.Port(), false)
	require.NotEqual(t, d.Addr, strings.TrimPrefix(attacker, "http://"), "the attacker's page has the demo's origin")

	b.navigate(b.base + "/")
	b.wantPage(1, "")
	b.do(chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name="user"]`), user))
	b.click(`form[action="/login"] button[type="submit"]`)
	b.wantPage(2, user)
	loggedIn := b.cookie()

	// Open the other origin's page; its form posts to /logout once it has
	// loaded. Subscribe to the responses first. A demo that let the
	// logout through answers 303, which Chromium follows to / (a redirect
	// has no response event of its own).
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	responses := chromedp.Events(ctx, network.ResponseReceived)
	b.do(chromedp.Navigate(attacker + "/?target=" + url.QueryEscape(b.base+"/logout")))
	var forged *network.Response
	for ev, err := range responses {
		require.NoError(t, err, "waiting for the answer to the forged POST /logout")
		if ev.Type != network.ResourceTypeDocument {
			continue
		}
		require.NotEqual(t, b.base+"/", ev.Response.URL,
			"the forged POST /logout from %s was not refused: Chromium was sent on to / (status %d)", attacker, ev.Response.Status)
		if ev.Response.URL == b.base+"/logout" {
			forged = ev.Response
			break
		}
	}
	cancel()
	require.Equal(t, int64(http.StatusForbidden), forged.Status, "the forged POST /logout from %s", attacker)
	text := b.waitForText(b.base+"/logout", "cross-origin request")
	t.Logf("the forged logout was refused: %d %q", forged.Status, strings.TrimSpace(text))

	// The user is still logged in, under the same session cookie.
	b.navigate(b.base + "/")
	b.wantPage(3, user)
	require.Equal(t, loggedIn.Value, b.cookie().Value, "the session cookie changed after the refused logout")

	// The demo's own page may still call the API.
	fetch := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		require.NoError(t, err, "%s", js)
		return v
	}
	require.Equal(t, "204", fetch(`fetch("/api/values/color", {method: "PUT", body: "blue"}).then(r => r.status + "")`),
		"a same-origin fetch PUT /api/values/color")
	require.Equal(t, "blue", fetch(`fetch("/api/values/color").then(r => r.text())`),
		"a same-origin fetch GET /api/values/color")
	require.Equal(t, "200 application/json", fetch(`fetch("/api/logout", {method: "POST"}).then(r => r.status + " " + r.headers.get("Content-Type"))`),
		"a same-origin fetch POST /api/logout")
	b.reload()
	b.wantPage(1, "") // logged out by the page's own call: a new anonymous session

	log := d.log.String()
	require.NotContains(t, log, "level=ERROR", "the demo logged a problem")
	require.NotContains(t, log, "level=WARN", "the demo logged a problem")
}

// waitForText waits, for 10 s at most, until the tab shows a loaded page
// at url whose text holds want, and returns that text.
func (b *tab) waitForText(url, want string) string {
	b.t.Helper()
	type state struct {
		URL   string `json:"url"`
		Ready string `json:"ready"`
		Text  string `json:"text"`
	}
	var st state
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		st, err = chromedp.Run(b.ctx, chromedp.Evaluate[state](
			`({url: location.href, ready: document.readyState, text: document.body ? document.body.innerText : ""})`))
		if err == nil && st.URL == url && st.Ready == "complete" && strings.Contains(st.Text, want) {
			return st.Text
		}
	}
	require.Fail(b.t, "the tab did not show the page in 10 s",
		"at %s saying %q; it shows %s (%s): %q", url, want, st.URL, st.Ready, st.Text)
	return ""
}
