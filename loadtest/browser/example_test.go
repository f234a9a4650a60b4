package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/sessionkit/sessionkit/loadtest/browser"
)

// Example starts headless Chromium, loads a page that sets a cookie, reads
// a paragraph of the page and the cookie's flags as Chromium stored them.
func Example() {
	execPath, err := browser.ExecPath()
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "greeting", Value: "hi", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		fmt.Fprint(w, `<!doctype html><title>example</title><p id="msg">Hello from Go</p>`)
	}))
	defer srv.Close()
	profile, err := os.MkdirTemp("", "chromium-profile-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tab, stop, err := browser.Start(ctx, execPath, profile)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL)); err != nil {
		fmt.Println(err)
		return
	}
	text, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#msg")))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(text)
	jar, err := chromedp.CallBrowser(tab, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range jar.Cookies {
		fmt.Printf("%s: HttpOnly %t, SameSite %s, Path %s, Secure %t\n", c.Name, c.HTTPOnly, c.SameSite, c.Path, c.Secure)
	}
	// Output:
	// Hello from Go
	// greeting: HttpOnly true, SameSite Lax, Path /, Secure false
}
