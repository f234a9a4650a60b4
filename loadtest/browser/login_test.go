package browser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

// cookieName is the demos' session cookie: they keep the core's default.
const cookieName = session.DefaultCookieName

// user is the name typed into the login form. Its markup must come back as
// text: the page escapes it, and a real browser proves nothing was parsed.
const user = `ann & <i>bob</i>`

// EnvScreenshotDir names a directory that, when set, receives a copy of
// each logged-in screenshot (the test's own copy is in its t.TempDir(),
// which is removed afterwards).
const EnvScreenshotDir = "SESSIONKIT_SCREENSHOT_DIR"

// TestLoginLogout drives each demo's HTML page in headless Chromium: it
// loads the page, types a user name into the login form and clicks "Log
// in", reloads, takes a screenshot, clicks "Log out" and reloads again,
// reading the page after every step and the session cookie from
// Chromium's cookie store. Each demo runs twice: with the default
// -cookie-secure=false on http://127.0.0.1 (the cookie must be stored
// without Secure), and with -cookie-secure=true on http://localhost, which
// browsers treat as a secure context, so Chromium must store (and send) the
// Secure cookie over plain HTTP there.
func TestLoginLogout(t *testing.T) {
	browser, bins := setup(t)
	for _, fw := range frameworks {
		for _, secure := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cookie-secure=%t", fw, secure), func(t *testing.T) {
				loginLogout(t, browser, filepath.Join(bins, fw), fw, secure)
			})
		}
	}
}

// setup starts Chromium for t and meanwhile builds the demos (once for
// all the package's tests, into a directory TestMain removes). It returns
// the browser's context and the directory of the demo binaries.
func setup(t *testing.T) (browser context.Context, bins string) {
	t.Helper()
	execPath, err := ExecPath()
	require.NoError(t, err) // never skip: the browser test must not pass without a browser
	start := time.Now()
	var buildErr error
	built := make(chan struct{})
	go func() { defer close(built); bins, buildErr = demoBinaries() }()
	t.Cleanup(func() { <-built }) // if the test ends early
	browser = startBrowser(t, execPath)
	t.Logf("started %s in %v", execPath, time.Since(start).Round(time.Millisecond))
	<-built
	require.NoError(t, buildErr)
	t.Logf("demos built after %v", time.Since(start).Round(time.Millisecond))
	return browser, bins
}

func loginLogout(t *testing.T, browser context.Context, bin, framework string, secure bool) {
	host, args := "127.0.0.1", []string(nil)
	if secure {
		host, args = "localhost", []string{"-cookie-secure=true"}
	}
	d := startDemo(t, bin, framework, args...)
	b := openTab(t, browser, "http://"+host+":"+d.Port(), secure)

	// A first visit starts an anonymous session (the page counts views).
	b.navigate(b.base + "/")
	b.wantPage(1, "")
	require.Equal(t, "sessionkit demo ("+framework+")", b.state().Title, "title")
	anon := b.cookie()

	// Log in through the form, as a person would.
	b.do(chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name="user"]`), user))
	b.click(`form[action="/login"] button[type="submit"]`)
	b.wantPage(2, user)
	loggedIn := b.cookie()
	require.NotEqual(t, anon.Value, loggedIn.Value, "the login kept the anonymous session's cookie value: the ID was not regenerated")

	// Reload: the browser sends the cookie back and the server knows it.
	b.reload()
	b.wantPage(3, user)
	require.Equal(t, loggedIn.Value, b.cookie().Value, "the session cookie changed on a reload")
	b.screenshot(framework, secure)

	// Log out. The 303 to / must delete the cookie: hold the request that
	// follows it and look into the cookie store before it goes out.
	jar := b.clickHoldingNextPage(`form[action="/logout"] button[type="submit"]`)
	for _, c := range jar {
		require.NotEqual(t, cookieName, c.Name, "after the logout's response Chromium still holds the cookie (same value as the login's: %t): %s",
			c.Value == loggedIn.Value, describe([]*network.Cookie{c}))
	}
	// The page that follows starts a new anonymous session.
	b.wantPage(1, "")
	after := b.cookie()
	require.NotEqual(t, loggedIn.Value, after.Value, "the session after the logout reuses the logged-in cookie value")
	require.NotEqual(t, anon.Value, after.Value, "the session after the logout reuses the anonymous cookie value")
	b.reload()
	b.wantPage(2, "")

	log := d.log.String()
	require.NotContains(t, log, "level=ERROR", "the demo logged a problem")
	require.NotContains(t, log, "level=WARN", "the demo logged a problem")
}

// startBrowser starts Chromium with a new profile for t and returns the
// context of its first tab, which the tests open their own tabs from. The
// browser is closed at the end of t and lives at most 3 minutes.
func startBrowser(t *testing.T, execPath string) context.Context {
	t.Helper()
	profile := t.TempDir() // removed after the browser closed (cleanups run last first)
	// Not t.Context(): it ends before the cleanups run and would kill the
	// browser before it can close.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	root, stop, err := Start(ctx, execPath, profile)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, stop(), "closing Chromium")
	})
	return root
}

// tab is a Chromium tab under test, pointed at one demo.
type tab struct {
	t             *testing.T
	ctx           context.Context // bounds every action of the test
	cookieContext cdp.BrowserContextID
	base          string // the demo's origin, http://host:port
	secure        bool   // whether the session cookie must be Secure
}

// openTab opens a tab of browser in a new browser context, with a cookie
// store of its own, for the demo at base, whose session cookie must be
// Secure if secure is set. The tab is closed, and its browser context
// disposed of, at the end of t. Its actions must be done within 30 s.
func openTab(t *testing.T, browser context.Context, base string, secure bool) *tab {
	t.Helper()
	tabCtx, closeTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(closeTab)
	require.NoError(t, chromedp.Do(tabCtx), "opening a tab") // Do with no action opens the tab
	// A timeout on a context derived from the open tab bounds the actions
	// and leaves the tab and the browser alone.
	ctx, cancel := context.WithTimeout(tabCtx, 30*time.Second)
	t.Cleanup(cancel)
	return &tab{t: t, ctx: ctx, cookieContext: chromedp.FromContext(tabCtx).BrowserContextID, base: base, secure: secure}
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...))
}

// wantResponse checks the response of a navigation that must end on the
// demo's page.
func (b *tab) wantResponse(what string, resp *network.Response, err error) {
	b.t.Helper()
	require.NoError(b.t, err, what)
	require.NotNil(b.t, resp, "%s: want 200 from %s/", what, b.base)
	require.Equal(b.t, int64(200), resp.Status, "%s: got %+v, want 200 from %s/", what, resp, b.base)
	require.Equal(b.t, b.base+"/", resp.URL, "%s: got %+v, want 200 from %s/", what, resp, b.base)
}

func (b *tab) navigate(url string) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(url))
	b.wantResponse("GET "+url, resp, err)
}

func (b *tab) reload() {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Reload())
	b.wantResponse("reload", resp, err)
}

// click clicks the element sel and waits for the page it leads to.
func (b *tab) click(sel string) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	b.wantResponse("click on "+sel, resp, err)
}

// clickHoldingNextPage clicks sel, which posts a form answered by a
// redirect to /, and waits for the page. It holds the request for / until
// it has read every cookie Chromium stores, and returns them: the cookie
// store as it is after the form's response and before the next request.
func (b *tab) clickHoldingNextPage(sel string) []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	paused := chromedp.Events(ctx, fetch.RequestPaused) // subscribe before enabling
	_, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{
		URLPattern:   b.base + "/",
		ResourceType: network.ResourceTypeDocument,
		RequestStage: fetch.RequestStageRequest,
	}}})
	require.NoError(b.t, err)
	type held struct {
		method string
		jar    []*network.Cookie
		err    error
	}
	done := make(chan held, 1)
	go func() {
		for ev, err := range paused {
			if err != nil {
				done <- held{err: err}
				return
			}
			res, err := chromedp.CallBrowser(b.ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: b.cookieContext})
			h := held{method: ev.Request.Method, jar: res.Cookies, err: err}
			if _, err := chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID}); err != nil && h.err == nil {
				h.err = err
			}
			done <- h
			return
		}
		done <- held{err: context.Cause(ctx)}
	}()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	cancel()
	h := <-done
	_, disableErr := chromedp.Call(b.ctx, fetch.Disable, cdp.Empty{})
	require.NoError(b.t, disableErr)
	b.wantResponse("click on "+sel, resp, err)
	require.NoError(b.t, h.err, "holding the request that followed the click on %s", sel)
	require.Equal(b.t, "GET", h.method, "the request held after the click on %s, want the GET that the 303 leads to", sel)
	return h.jar
}

// pageState is what the demo's page shows.
type pageState struct {
	Views string  `json:"views"`
	User  *string `json:"user"` // nil when the page has no #user element
	Text  string  `json:"text"` // the visible text of the body
	Title string  `json:"title"`
}

func (b *tab) state() pageState {
	b.t.Helper()
	st, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageState](`({
		views: document.getElementById("views")?.innerText ?? "",
		user: document.getElementById("user")?.innerText ?? null,
		text: document.body.innerText,
		title: document.title,
	})`))
	require.NoError(b.t, err)
	return st
}

// wantPage checks that the page shows views and, if user is not empty,
// that user is logged in, else that nobody is.
func (b *tab) wantPage(views int, user string) {
	b.t.Helper()
	st := b.state()
	require.Equal(b.t, fmt.Sprint(views), st.Views, "the views the page shows; page text:\n%s", st.Text)
	if user == "" {
		msg := []any{"the page shows a logged-in user, want nobody; page text:\n%s", st.Text}
		require.Nil(b.t, st.User, msg...)
		require.Contains(b.t, st.Text, "Not logged in.", msg...)
		return
	}
	msg := []any{"the page does not show %q logged in; page text:\n%s", user, st.Text}
	require.NotNil(b.t, st.User, msg...)
	require.Equal(b.t, user, *st.User, msg...)
	require.Contains(b.t, st.Text, "Logged in as "+user+".", msg...)
	// The name's markup is text: no <i> element made it into the page.
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#user *").length`))
	require.NoError(b.t, err, "counting the elements inside #user")
	require.Zero(b.t, n, "the user name was parsed as HTML: elements inside #user")
}

// cookie returns the session cookie as Chromium stored it, after checking
// that there is exactly one and that its flags are what the demo sets: a
// browser-session cookie, as the demo's is unless "Remember me" was ticked.
func (b *tab) cookie() *network.Cookie {
	b.t.Helper()
	return b.storedCookie(false)
}

// storedCookie is cookie for a session cookie that must be persistent
// (have an expiry: "Remember me") if persistent is set, and a
// browser-session cookie otherwise.
func (b *tab) storedCookie(persistent bool) *network.Cookie {
	b.t.Helper()
	res, err := chromedp.CallBrowser(b.ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: b.cookieContext})
	require.NoError(b.t, err)
	var found []*network.Cookie
	for _, c := range res.Cookies {
		if c.Name == cookieName {
			found = append(found, c)
		}
	}
	require.Len(b.t, found, 1, "Chromium's %s cookies, want 1: %s", cookieName, describe(res.Cookies))
	c := found[0]
	host := strings.TrimPrefix(b.base, "http://")
	host = host[:strings.LastIndexByte(host, ':')]
	var problems []string
	if !c.HTTPOnly {
		problems = append(problems, "HttpOnly is off")
	}
	if c.SameSite != network.CookieSameSiteLax {
		problems = append(problems, fmt.Sprintf("SameSite is %q, want Lax", c.SameSite))
	}
	if c.Path != "/" {
		problems = append(problems, fmt.Sprintf("Path is %q, want /", c.Path))
	}
	if c.Secure != b.secure {
		problems = append(problems, fmt.Sprintf("Secure is %t, want %t", c.Secure, b.secure))
	}
	if c.Domain != host { // a host-only cookie: no Domain attribute was sent
		problems = append(problems, fmt.Sprintf("Domain is %q, want the host-only %q", c.Domain, host))
	}
	switch {
	case persistent && c.Session:
		problems = append(problems, "it is a browser-session cookie, want a persistent one (Max-Age: remember me)")
	case !persistent && !c.Session:
		problems = append(problems, "it is persistent, want a browser-session cookie (no Max-Age without remember me)")
	}
	if c.Value == "" {
		problems = append(problems, "its value is empty")
	}
	require.Empty(b.t, problems, "the %s cookie as Chromium stored it: %s\n%s", cookieName, strings.Join(problems, "; "), describe(found))
	return c
}

// describe formats cookies for a failure message, without their values.
func describe(cs []*network.Cookie) string {
	var sb strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&sb, "\n  %s: domain %q path %q httpOnly %t secure %t sameSite %q session %t expires %s",
			c.Name, c.Domain, c.Path, c.HTTPOnly, c.Secure, c.SameSite, c.Session, expiry(c))
	}
	if sb.Len() == 0 {
		return "(no cookies)"
	}
	return sb.String()
}

// expiry formats when c expires, as Chromium stored it.
func expiry(c *network.Cookie) string {
	if c.Session || c.Expires <= 0 {
		return "never (browser session)"
	}
	return cookieExpires(c).UTC().Format(time.RFC3339)
}

// cookieExpires returns when the persistent cookie c expires; Chromium
// reports it in seconds since the epoch.
func cookieExpires(c *network.Cookie) time.Time {
	return time.UnixMilli(int64(c.Expires * 1000))
}

// screenshot captures the viewport as a PNG into the test's temporary
// directory (and $SESSIONKIT_SCREENSHOT_DIR if set) and checks that it
// is an image with something drawn on it.
func (b *tab) screenshot(framework string, secure bool) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err)
	img, err := png.Decode(bytes.NewReader(buf))
	require.NoError(b.t, err, "the screenshot is not a PNG")
	r := img.Bounds()
	require.GreaterOrEqual(b.t, r.Dx(), 200, "the screenshot is only %v", r)
	require.GreaterOrEqual(b.t, r.Dy(), 200, "the screenshot is only %v", r)
	require.GreaterOrEqual(b.t, darkPixels(img), 500, "the screenshot's dark pixels: the page drew no text")
	name := fmt.Sprintf("%s-secure-%t-logged-in.png", framework, secure)
	dirs := []string{b.t.TempDir()}
	if d := os.Getenv(EnvScreenshotDir); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		require.NoError(b.t, os.WriteFile(p, buf, 0o644))
		b.t.Logf("screenshot: %s", p)
	}
}

// darkPixels counts the pixels of img darker than mid grey.
func darkPixels(img image.Image) int {
	n := 0
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if (cr+cg+cb)/3 < 0x8000 {
				n++
			}
		}
	}
	return n
}
