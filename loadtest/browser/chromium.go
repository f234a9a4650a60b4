package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is wrapped by the error of ExecPath when no Chromium can be
// found.
var ErrNoChromium = errors.New("browser: Chromium not found")

// EnvExecPath is the environment variable that, when set, names the
// Chromium (or Chrome) binary to use instead of looking one up on PATH.
const EnvExecPath = "SESSIONKIT_CHROMIUM"

// Names are the commands ExecPath looks for on PATH, in order: Debian's
// package installs "chromium", Ubuntu's and older ones "chromium-browser".
var Names = []string{"chromium", "chromium-browser"}

// ExecPath returns the path of the Chromium binary to drive: the value of
// $SESSIONKIT_CHROMIUM if set (it must be executable), else the first of
// Names found on PATH. The error wraps ErrNoChromium and says how to
// install it; callers fail on it rather than skip, so a machine without a
// browser cannot pass the browser tests by accident.
func ExecPath() (string, error) {
	if p := os.Getenv(EnvExecPath); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: $%s=%q is not an executable: %v", ErrNoChromium, EnvExecPath, p, err)
		}
		return found, nil
	}
	for _, name := range Names {
		if found, err := exec.LookPath(name); err == nil {
			return found, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s is on PATH; install it with scripts/install-chromium.sh "+
		"(as root: apt-get update && apt-get install -y chromium) or set $%s to its path",
		ErrNoChromium, strings.Join(Names, ", "), EnvExecPath)
}

// Flags are the Chromium switches AllocatorOptions sets, besides
// --user-data-dir and the DevTools pipe chromedp adds. They run Chromium
// headless as root (no sandbox) without a GPU, and keep it off the network
// except for the pages it is sent to: no QUIC, no background requests, no
// component or sync updates. The values are those of chromedp.Flag: true for
// a bare switch, a string for --name=value.
var Flags = []struct {
	Name  string
	Value any
}{
	{"headless", true},
	{"no-sandbox", true},
	{"disable-gpu", true},
	{"disable-quic", true},
	{"no-first-run", true},
	{"no-default-browser-check", true},
	{"disable-background-networking", true},
	{"disable-component-update", true},
	{"disable-sync", true},
	{"disable-dev-shm-usage", true}, // containers have a small /dev/shm
	{"password-store", "basic"},     // no desktop keyring to ask
	{"hide-scrollbars", true},       // screenshots without scrollbars
	{"window-size", "1024,768"},
}

// AllocatorOptions returns the chromedp exec allocator options that start
// the Chromium at execPath with Flags and the profile directory
// userDataDir, which should be new and empty (a test's t.TempDir()), so no
// cookie survives from one run to the next. Pass them to
// chromedp.NewExecAllocator.
func AllocatorOptions(execPath, userDataDir string) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(execPath), chromedp.UserDataDir(userDataDir)}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f.Name, f.Value))
	}
	return opts
}

// Start starts a headless Chromium at execPath with AllocatorOptions and
// opens a tab. It returns the tab's context and a func that closes the
// browser gracefully, waits up to 10 s for it to exit and then kills it.
// The browser lives until stop or the end of ctx: a timeout set on a
// context derived from the tab's bounds one action and leaves the browser
// open.
func Start(ctx context.Context, execPath, userDataDir string) (context.Context, func() error, error) {
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, AllocatorOptions(execPath, userDataDir)...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(tab); err != nil { // starts the browser and opens the tab
		cancelTab()
		cancelAlloc()
		return nil, nil, fmt.Errorf("browser: starting %s: %w", execPath, err)
	}
	stop := func() error {
		tctx, cancel := context.WithTimeout(tab, 10*time.Second)
		err := chromedp.Cancel(tctx)
		cancel()
		cancelTab()
		cancelAlloc() // waits for the process to exit
		return err
	}
	return tab, stop, nil
}
