package browser

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rememberLifetime is the -lifetime the remember-me test gives the demo:
// not the core's default, so a cookie expiring at the right time shows
// that the flag reached the cookie.
const rememberLifetime = 2 * time.Hour

// The flashes the demo's page shows (demo.Welcome and demo.LoggedOut,
// spelled out: the test checks the page, not the package).
const (
	welcomeFlash   = "Welcome, " + user + "."
	loggedOutFlash = "You are logged out."
)

// TestRememberMe logs in on each demo's page in Chromium with "Remember
// me" ticked: the session cookie in Chromium's store must then be
// persistent, expiring when the session does (-lifetime after the
// session's creation), and stay so on a reload. The welcome flash shows
// once and is gone on the reload. The page's logout button leads to the
// "logged out" flash (shown once too) and a new anonymous session under a
// browser-session cookie. Logging in again with the box left unticked
// gives a browser-session cookie: the choice is made at every login.
func TestRememberMe(t *testing.T) {
	browser, bins := setup(t)
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			rememberMe(t, browser, filepath.Join(bins, fw), fw)
		})
	}
}

func rememberMe(t *testing.T, browser context.Context, bin, framework string) {
	d := startDemo(t, bin, framework, "-lifetime", rememberLifetime.String())
	b := openTab(t, browser, "http://127.0.0.1:"+d.Port(), false)

	// The session (and its deadline) starts with the first visit; the
	// login keeps its creation time and gives it a new ID.
	created := time.Now()
	b.navigate(b.base + "/")
	b.wantPage(1, "")
	assert.Nil(t, b.flashes(), "flashes before any login")
	anon := b.cookie()

	b.login(user, true)
	b.wantPage(2, user)
	assert.Equal(t, []string{welcomeFlash}, b.flashes(), "flashes after the login")
	remembered := b.storedCookie(true)
	assert.NotEqual(t, anon.Value, remembered.Value, "the login kept the anonymous session's ID")
	// Max-Age counts whole seconds down from the session's deadline,
	// which is created+lifetime; allow a second either side for that and
	// for Chromium's clock reading.
	expires := cookieExpires(remembered)
	assert.WithinRange(t, expires, created.Add(rememberLifetime-time.Second), time.Now().Add(rememberLifetime+time.Second),
		"the remembered cookie expires at %s, want the session's deadline, -lifetime %v after its creation at %s",
		expires.UTC().Format(time.RFC3339), rememberLifetime, created.UTC().Format(time.RFC3339))

	// A reload: the flash was shown once and is gone; the cookie is the
	// same, still persistent.
	b.reload()
	b.wantPage(3, user)
	assert.Nil(t, b.flashes(), "flashes on the reload after the login")
	again := b.storedCookie(true)
	assert.Equal(t, remembered.Value, again.Value, "the session cookie changed on a reload")
	assert.InDelta(t, remembered.Expires, again.Expires, 2, "the remembered cookie's expiry moved on a reload")

	// The page's logout button: the "logged out" flash, and a new
	// anonymous session whose cookie is not remembered.
	b.click(`form[action="/logout"] button[type="submit"]`)
	b.wantPage(1, "")
	assert.Equal(t, []string{loggedOutFlash}, b.flashes(), "flashes after the logout button")
	afterLogout := b.cookie()
	assert.NotEqual(t, remembered.Value, afterLogout.Value, "the session after the logout has the remembered ID")
	b.reload()
	b.wantPage(2, "")
	assert.Nil(t, b.flashes(), "flashes on the reload after the logout")

	// The same browser logs in with the box left unticked: a
	// browser-session cookie, and the welcome flash again.
	b.login(user, false)
	b.wantPage(3, user)
	assert.Equal(t, []string{welcomeFlash}, b.flashes(), "flashes after the login without remember me")
	forgotten := b.cookie()
	assert.NotEqual(t, afterLogout.Value, forgotten.Value, "the login kept the anonymous session's ID")
	b.reload()
	b.wantPage(4, user)
	assert.Nil(t, b.flashes(), "flashes on the reload after the second login")
	assert.Equal(t, forgotten.Value, b.cookie().Value, "the session cookie changed on a reload")

	wantCleanLog(t, d)
}

// TestRevokeOtherDevice logs the same user in on each demo from two
// browsers (two browser contexts of Chromium, each with a cookie store of
// its own). The first one's page lists both sessions, its own marked
// current and the other with a revoke button whose handle is the second
// browser's session. Clicking it ends that session: the second browser,
// reloading, is logged out under a new anonymous session, while the first
// stays logged in and lists its own session only.
func TestRevokeOtherDevice(t *testing.T) {
	browser, bins := setup(t)
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			revokeOtherDevice(t, browser, filepath.Join(bins, fw), fw)
		})
	}
}

func revokeOtherDevice(t *testing.T, browser context.Context, bin, framework string) {
	d := startDemo(t, bin, framework)
	base := "http://127.0.0.1:" + d.Port()
	first := openTab(t, browser, base, false)
	second := openTab(t, browser, base, false)
	require.NotEqual(t, first.cookieContext, second.cookieContext, "the two tabs share a browser context")

	for _, b := range []*tab{first, second} {
		b.navigate(base + "/")
		b.wantPage(1, "")
		b.login(user, false)
		b.wantPage(2, user)
	}
	firstCookie, secondCookie := first.cookie(), second.cookie()
	require.NotEqual(t, firstCookie.Value, secondCookie.Value, "the two browsers share a session")

	// The second browser's own view of its session, from the JSON API.
	secondHandle := second.currentHandle()

	// Both browsers list the user's two sessions, each its own as current.
	first.reload()
	first.wantPage(3, user)
	rows := first.sessionRows()
	require.Len(t, rows, 2, "the first browser's #sessions rows")
	ua := first.userAgent()
	var other sessionRow
	for _, r := range rows {
		assert.Equal(t, "127.0.0.1", r.IP, "the client IP of a session")
		assert.Equal(t, ua, r.UserAgent, "the browser of a session")
		if !r.Current {
			other = r
		}
	}
	assert.Equal(t, 1, countCurrent(rows), "rows marked current in the first browser: %+v", rows)
	require.NotEmpty(t, other.Handle, "the other session's row has no revoke form: %+v", rows)
	require.Equal(t, secondHandle, other.Handle, "the revoke button of the other row is not for the second browser's session")
	second.reload()
	second.wantPage(3, user)
	secondRows := second.sessionRows()
	require.Len(t, secondRows, 2, "the second browser's #sessions rows")
	assert.Equal(t, 1, countCurrent(secondRows), "rows marked current in the second browser: %+v", secondRows)

	// Revoke the second browser's session from the first.
	first.click(`#sessions tr.session:not(.current) button.revoke`)
	first.wantPage(4, user)
	rows = first.sessionRows()
	require.Len(t, rows, 1, "the first browser's #sessions rows after the revoke")
	assert.True(t, rows[0].Current, "the remaining row is not the first browser's session: %+v", rows)
	assert.Empty(t, rows[0].Handle, "the current session's row has a revoke form")
	assert.Equal(t, firstCookie.Value, first.cookie().Value, "revoking another session changed this one's cookie")

	// The second browser is logged out: its cookie finds nothing, and the
	// page starts a new anonymous session.
	second.reload()
	second.wantPage(1, "")
	assert.NotEqual(t, secondCookie.Value, second.cookie().Value, "the revoked session's ID is still in use")
	assert.Equal(t, 0, second.count("#sessions"), "a logged-out page lists sessions")

	// The first is still logged in, alone.
	first.reload()
	first.wantPage(5, user)
	assert.Len(t, first.sessionRows(), 1, "the first browser's #sessions rows after a reload")
	assert.Equal(t, firstCookie.Value, first.cookie().Value, "the session cookie changed on a reload")

	wantCleanLog(t, d)
}

// login fills in the page's login form with name, ticks "Remember me" if
// remember is set (and checks the box's state either way), and submits it.
func (b *tab) login(name string, remember bool) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name="user"]`), name))
	if remember {
		b.do(chromedp.Click(chromedp.CSS(`form[action="/login"] input#remember[name="remember"]`)))
	}
	checked, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.getElementById("remember").checked`))
	require.NoError(b.t, err)
	require.Equal(b.t, remember, checked, "the Remember me checkbox's state before the login")
	b.click(`form[action="/login"] button[type="submit"]`)
}

// flashes returns the texts of the page's flashes, in order, or nil when
// the page has no #flashes list.
func (b *tab) flashes() []string {
	b.t.Helper()
	list, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(() => {
		const ul = document.getElementById("flashes");
		return ul ? Array.from(ul.querySelectorAll("li.flash"), li => li.innerText) : null;
	})()`))
	require.NoError(b.t, err)
	return list
}

// sessionRow is one row of the page's #sessions table.
type sessionRow struct {
	Current   bool   `json:"current"`   // it has the class "current"
	UserAgent string `json:"userAgent"` // the Browser column
	IP        string `json:"ip"`        // the IP column
	Handle    string `json:"handle"`    // of its revoke form; "" without one
	Buttons   int    `json:"buttons"`   // its button.revoke elements
}

// sessionRows returns the rows of the page's #sessions table, after
// checking that each but the current one has exactly one revoke button.
func (b *tab) sessionRows() []sessionRow {
	b.t.Helper()
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]sessionRow](`Array.from(
		document.querySelectorAll("#sessions tr.session"), tr => ({
			current: tr.classList.contains("current"),
			userAgent: tr.cells[2].innerText,
			ip: tr.cells[3].innerText,
			handle: tr.querySelector('form[method="post"][action="/revoke"] input[name="handle"]')?.value ?? "",
			buttons: tr.querySelectorAll('form[action="/revoke"] button.revoke').length,
		}))`))
	require.NoError(b.t, err)
	for _, r := range rows {
		want := 1
		if r.Current {
			want = 0
		}
		require.Equal(b.t, want, r.Buttons, "revoke buttons in a row (current %t): %+v", r.Current, rows)
	}
	return rows
}

func countCurrent(rows []sessionRow) int {
	n := 0
	for _, r := range rows {
		if r.Current {
			n++
		}
	}
	return n
}

// currentHandle returns the handle of the tab's own session, as the
// demo's GET /api/sessions tells the page's script.
func (b *tab) currentHandle() string {
	b.t.Helper()
	body, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		`fetch("/api/sessions").then(r => r.ok ? r.text() : Promise.reject(new Error("GET /api/sessions: " + r.status)))`,
		chromedp.EvalAwaitPromise))
	require.NoError(b.t, err)
	var list struct {
		Sessions []struct {
			Handle  string `json:"handle"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	require.NoError(b.t, json.Unmarshal([]byte(body), &list), "GET /api/sessions: %s", body)
	for _, s := range list.Sessions {
		if s.Current {
			require.NotEmpty(b.t, s.Handle, "GET /api/sessions: %s", body)
			return s.Handle
		}
	}
	require.Fail(b.t, "GET /api/sessions lists no current session", "%s", body)
	return ""
}

// userAgent returns the tab's navigator.userAgent.
func (b *tab) userAgent() string {
	b.t.Helper()
	ua, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.userAgent`))
	require.NoError(b.t, err)
	return ua
}

// count returns how many elements of the page match the CSS selector sel.
func (b *tab) count(sel string) int {
	b.t.Helper()
	js, err := json.Marshal(sel)
	require.NoError(b.t, err)
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+string(js)+`).length`))
	require.NoError(b.t, err)
	return n
}

// wantCleanLog fails t if the demo logged a warning or an error.
func wantCleanLog(t *testing.T, d *demo) {
	t.Helper()
	log := d.log.String()
	assert.False(t, strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN"),
		"the demo logged a problem:\n%s", log)
}
