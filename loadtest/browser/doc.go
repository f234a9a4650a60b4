// Package browser is the real-browser end-to-end test of the sessionkit
// demo apps (examples/nethttp, gin, echo, echov5, fiber and fiberv3): its test builds the
// demo binaries, starts each on a loopback port and drives its HTML page
// in headless Chromium over the DevTools protocol (chromedp), the way a
// person would: it types a user name into the login form, clicks the
// button, reloads, reads the page, clicks "Log out". Between the steps it
// reads the session cookie from Chromium's own cookie store, so the
// cookie's flags (HttpOnly, SameSite=Lax, Path=/, Secure) are checked as a
// real browser stored them, not as a Go cookie jar parsed them. Another
// test serves a page from a second origin (another port of 127.0.0.1)
// whose form posts to a demo's /logout: the demo must refuse it, so the
// user stays logged in, while the demo's own page can still call its API.
// TestRememberMe ticks the login form's "Remember me" box: Chromium must
// store a persistent cookie expiring with the session (-lifetime), and a
// browser-session cookie without the box; the welcome and logged-out
// flashes show once each. TestRevokeOtherDevice logs one user in from two
// browser contexts (two cookie stores): the first revokes the second's
// session from its page's table of sessions, and the second is logged out.
//
// The package's own code finds and starts Chromium: Debian's "chromium"
// package, which scripts/install-chromium.sh installs (with apt-get, as
// root) when it is missing. No browser is downloaded at build or test
// time. Without Chromium the test fails with a message saying how to
// install it; it never skips.
package browser
