package testenv_test

import (
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
	"github.com/stretchr/testify/require"
)

func TestLogBuffer(t *testing.T) {
	var l testenv.LogBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { fmt.Fprintf(&l, "line %d;", i) })
	}
	l.WaitFor(t, "line 0;", "line 7;")
	wg.Wait()
	require.Equal(t, 8, strings.Count(l.String(), ";"), "lines in the log %q", l.String())
	require.Empty(t, fatalOf(func(tb testing.TB) { l.WaitFor(tb, "line 0;") }), "WaitFor failed on a present line")
}

func TestFixture(t *testing.T) {
	// Secure is the default; turning it off shows the option was applied.
	f := testenv.NewFixture(t, session.WithCookieSecure(false))
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
	require.NoError(t, err)
	require.Equal(t, "saved", testenv.ReadBody(t, resp), "body")
	c := testenv.SessionCookie(t, resp)
	require.False(t, c.Secure, "the option given to NewFixture was not applied: cookie still Secure")
	_, sets, _ := f.Count.Calls()
	require.EqualValues(t, 1, sets, "sets Count saw")

	f.Fail.SetDown(true)
	x := &sessiontest.Exchange{IP: "192.0.2.1", CookieMap: map[string][]string{c.Name: {c.Value}}}
	_, err = testenv.Begin(f.Manager, x).Session()
	require.ErrorIs(t, err, session.ErrStore, "with Fail down")

	f.Manager.Logger().Info("fixture-log-check")
	f.Log.WaitFor(t, "fixture-log-check")
}

func TestSessionCookieMissing(t *testing.T) {
	resp := &http.Response{Header: http.Header{"Set-Cookie": {
		"other=" + strings.Repeat("a", 43),
		session.DefaultCookieName + "=not-a-valid-id",
	}}}
	msg := fatalOf(func(tb testing.TB) { testenv.SessionCookie(tb, resp) })
	require.Contains(t, msg, "no valid", "SessionCookie without a valid cookie: its fatal message")
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
