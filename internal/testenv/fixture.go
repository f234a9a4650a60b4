package testenv

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// Test scaffolding shared by the adapters' own tests: a Manager over a
// store that counts calls and can fail, with its log captured, and small
// helpers for the responses of a real HTTP server.

// LogBuffer is an io.Writer that keeps everything written to it, safe for
// concurrent use, so that a server's goroutines can log into it while the
// test reads it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WaitFor waits until the log contains every string of want, and fails
// the test if it does not within 10 s.
func (l *LogBuffer) WaitFor(t testing.TB, want ...string) {
	t.Helper()
	deadline := time.Now().Add(faultWait)
	for {
		s, all := l.String(), true
		for _, w := range want {
			all = all && strings.Contains(s, w)
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %q lacks %q", s, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Fixture is a Manager over a MemoryStore wrapped in a FailingStore and a
// CountingStore (Count sees every call the Manager makes; Fail can take
// the store down), logging as text into Log.
type Fixture struct {
	Manager *session.Manager
	Mem     *session.MemoryStore
	Count   *CountingStore
	Fail    *FailingStore
	Log     *LogBuffer
}

// NewFixture returns a Fixture whose MemoryStore is closed when the test
// ends. opts are applied after the store and logger options, so they can
// override them.
func NewFixture(t testing.TB, opts ...session.Option) *Fixture {
	t.Helper()
	return NewFixtureOver(t, MemoryStore(t), opts...)
}

// NewFixtureOver is NewFixture over a MemoryStore of the test's own, for
// tests that need its options (a reap interval, a clock) under the Manager.
func NewFixtureOver(t testing.TB, mem *session.MemoryStore, opts ...session.Option) *Fixture {
	t.Helper()
	f := &Fixture{Mem: mem, Fail: NewFailingStore(mem), Log: &LogBuffer{}}
	f.Count = NewCountingStore(f.Fail)
	all := append([]session.Option{session.WithStore(f.Count),
		session.WithLogger(slog.New(slog.NewTextHandler(f.Log, nil)))}, opts...)
	m, err := session.NewManager(all...)
	if err != nil {
		t.Fatal(err)
	}
	f.Manager = m
	return f
}

// SessionCookie returns the cookie named session.DefaultCookieName that
// resp sets with a valid session ID, and fails the test if there is none.
func SessionCookie(t testing.TB, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == session.DefaultCookieName && session.ValidID(c.Value) {
			return c
		}
	}
	t.Fatalf("no valid %s cookie in %q", session.DefaultCookieName, resp.Header.Values("Set-Cookie"))
	return nil
}

// ReadBody reads and closes resp.Body, failing the test on a read error.
func ReadBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Get sends a GET to url with the given cookies and fails the test if no
// response arrives within 10 seconds.
func Get(t testing.TB, url string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Begin starts a request described by x on m, as an adapter does, for
// tests that drive a Manager without a framework.
func Begin(m *session.Manager, x session.Exchange) *session.Handle {
	h := new(session.Handle)
	h.Init(m, x)
	return h
}

// MemoryStore returns a MemoryStore with opts, closed when the test ends.
func MemoryStore(tb testing.TB, opts ...session.MemoryOption) *session.MemoryStore {
	tb.Helper()
	s, err := session.NewMemoryStore(opts...)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// DefaultLog makes slog.Default log as text into a LogBuffer until the
// test ends, for code that logs without a Manager. Tests that use it must
// not run in parallel.
func DefaultLog(t testing.TB) *LogBuffer {
	log := &LogBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(log, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return log
}
