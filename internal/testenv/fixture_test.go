package testenv_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

func TestLogBuffer(t *testing.T) {
	var l testenv.LogBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { fmt.Fprintf(&l, "line %d;", i) })
	}
	l.WaitFor(t, "line 0;", "line 7;")
	wg.Wait()
	if n := strings.Count(l.String(), ";"); n != 8 {
		t.Fatalf("log %q has %d lines, want 8", l.String(), n)
	}
	if msg := fatalOf(func(tb testing.TB) { l.WaitFor(tb, "line 0;") }); msg != "" {
		t.Fatalf("WaitFor failed on a present line: %s", msg)
	}
}

func TestFixture(t *testing.T) {
	f := testenv.NewFixture(t, session.WithCookieSecure(true))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &sessiontest.Exchange{IP: "192.0.2.1"}
		for _, c := range r.CookiesNamed(f.Manager.CookieName()) {
			x.CookieMap = map[string][]string{c.Name: {c.Value}}
		}
		h := testenv.Begin(f.Manager, x)
		s, err := h.Session()
		if err != nil {
			http.Error(w, "store down", http.StatusInternalServerError)
			return
		}
		s.Set("k", "v")
		if err := h.Commit(); err != nil {
			http.Error(w, "commit failed", http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, x.LastCookie())
		io.WriteString(w, "saved")
	}))
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body := testenv.ReadBody(t, resp); body != "saved" {
		t.Fatalf("body %q, want %q", body, "saved")
	}
	c := testenv.SessionCookie(t, resp)
	if !c.Secure {
		t.Fatal("the option given to NewFixture was not applied: cookie not Secure")
	}
	if _, sets, _ := f.Count.Calls(); sets != 1 {
		t.Fatalf("Count saw %d sets, want 1", sets)
	}

	f.Fail.SetDown(true)
	x := &sessiontest.Exchange{IP: "192.0.2.1", CookieMap: map[string][]string{c.Name: {c.Value}}}
	if _, err := testenv.Begin(f.Manager, x).Session(); !errors.Is(err, session.ErrStore) {
		t.Fatalf("with Fail down: err %v, want session.ErrStore", err)
	}

	f.Manager.Logger().Info("fixture-log-check")
	f.Log.WaitFor(t, "fixture-log-check")
}

func TestSessionCookieMissing(t *testing.T) {
	resp := &http.Response{Header: http.Header{"Set-Cookie": {
		"other=" + strings.Repeat("a", 43),
		session.DefaultCookieName + "=not-a-valid-id",
	}}}
	msg := fatalOf(func(tb testing.TB) { testenv.SessionCookie(tb, resp) })
	if !strings.Contains(msg, "no valid") {
		t.Fatalf("SessionCookie without a valid cookie: fatal %q", msg)
	}
}

// fatalTB records the first fatal message and stops its goroutine, as
// testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) { f.msg = fmt.Sprint(args...); runtime.Goexit() }

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn on its own goroutine and returns its fatal message, or
// "" if it did not fail.
func fatalOf(fn func(testing.TB)) string {
	tb := &fatalTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	return tb.msg
}
