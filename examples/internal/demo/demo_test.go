package demo_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/examples/internal/demotest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateUser(t *testing.T) {
	for _, tc := range []struct {
		user string
		ok   bool
	}{
		{"a", true},
		{"ann", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("é", 64), true}, // 128 bytes, 64 characters
		{"<b>ann & bob</b>", true},      // escaped on output, not refused
		{"two words", true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{strings.Repeat("é", 65), false},
		{"a\x00b", false},
		{"tab\t", false},
		{"line\nbreak", false},
		{"del\x7f", false},
		{"\u0085", false}, // C1 control
		{"\xff", false},
		{"ok\xc3", false}, // truncated UTF-8
	} {
		err := demo.ValidateUser(tc.user)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateUser(%q) = %v, want ok=%v", tc.user, err, tc.ok)
		}
	}
}

func TestValidateKey(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"k", true},
		{"Color_2-x", true},
		{strings.Repeat("k", 64), true},
		{"", false},
		{strings.Repeat("k", 65), false},
		{"a.b", false},
		{"a/b", false},
		{"a b", false},
		{"é", false},
		{"a:b", false},
		{"%41", false},
	} {
		err := demo.ValidateKey(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", tc.key, err, tc.ok)
		}
	}
}

func TestReadValue(t *testing.T) {
	max := strings.Repeat("v", demo.MaxValueSize)
	if b, err := demo.ReadValue(strings.NewReader(max)); err != nil || string(b) != max {
		t.Fatalf("ReadValue(%d bytes) = %d bytes, %v", len(max), len(b), err)
	}
	if b, err := demo.ReadValue(strings.NewReader("")); err != nil || len(b) != 0 {
		t.Fatalf("ReadValue(empty) = %q, %v", b, err)
	}
	if _, err := demo.ReadValue(strings.NewReader(max + "v")); err == nil {
		t.Fatal("ReadValue accepted MaxValueSize+1 bytes")
	}
	// It stops reading right after the limit.
	r := &countingReader{r: strings.NewReader(strings.Repeat("v", 1<<20))}
	if _, err := demo.ReadValue(r); err == nil || r.n > demo.MaxValueSize+1 {
		t.Fatalf("ReadValue of 1 MiB: err %v after reading %d bytes", err, r.n)
	}
	if _, err := demo.ReadValue(iotest.ErrReader(io.ErrUnexpectedEOF)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadValue of a failing body = %v", err)
	}
	if err := demo.CheckValue([]byte(max)); err != nil {
		t.Fatal(err)
	}
	if err := demo.CheckValue([]byte(max + "v")); err == nil {
		t.Fatal("CheckValue accepted MaxValueSize+1 bytes")
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseFlagsDefaults(t *testing.T) {
	c, err := demo.ParseFlags("x", nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := demo.Config{
		Addr: "127.0.0.1:8080", Store: "memory", IdleTimeout: 0, Lifetime: session.DefaultLifetime,
		CookieSecure: false, StreamInterval: time.Second, ShutdownTimeout: 10 * time.Second,
		StoreTimeout: 3 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ConnIdleTimeout: 2 * time.Minute, RotateGrace: 30 * time.Second,
	}
	if c != want {
		t.Fatalf("defaults = %+v, want %+v", c, want)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := demo.ParseFlags("x", []string{"-addr", ":0", "-store", "redis://127.0.0.1:6379/3",
		"-idle-timeout", "30m", "-lifetime", "8h", "-cookie-secure", "-stream-interval", "5ms",
		"-shutdown-timeout", "3s", "-store-timeout", "750ms", "-read-timeout", "2s", "-write-timeout", "4s",
		"-conn-idle-timeout", "5s", "-token-header", "X-Session", "-rotate-grace", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := demo.Config{
		Addr: ":0", Store: "redis://127.0.0.1:6379/3", IdleTimeout: 30 * time.Minute, Lifetime: 8 * time.Hour,
		CookieSecure: true, StreamInterval: 5 * time.Millisecond, ShutdownTimeout: 3 * time.Second,
		StoreTimeout: 750 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: 4 * time.Second,
		ConnIdleTimeout: 5 * time.Second, TokenHeader: "X-Session", RotateGrace: 2 * time.Second,
	}
	if c != want {
		t.Fatalf("parsed %+v, want %+v", c, want)
	}
	if c, err := demo.ParseFlags("x", []string{"-max-sessions", "100"}, io.Discard); err != nil || c.MaxSessions != 100 {
		t.Fatalf("-max-sessions 100: %+v, %v", c, err)
	}
	for _, store := range []string{"memory", "rediss://h:1/0", "postgres://u@h/db", "postgresql://u@h/db", "REDIS://h:1/0"} {
		if _, err := demo.ParseFlags("x", []string{"-store", store}, io.Discard); err != nil {
			t.Errorf("-store %s: %v", store, err)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-nope"},
		{"extra"},
		{"-store", "mysql://h/db"},
		{"-store", "redis"},
		{"-store", ""},
		{"-stream-interval", "-1s"},
		{"-shutdown-timeout", "0"},
		{"-lifetime", "soon"},
		{"-max-sessions", "-1"},
		{"-max-sessions", "5", "-store", "redis://127.0.0.1:6379/0"},
		{"-read-timeout", "0"},
		{"-write-timeout", "-1s"},
		{"-conn-idle-timeout", "0"},
	} {
		var out bytes.Buffer
		if _, err := demo.ParseFlags("x", args, &out); err == nil {
			t.Errorf("ParseFlags(%q) accepted it", args)
		} else if !strings.Contains(out.String(), "Usage: x") {
			t.Errorf("ParseFlags(%q) printed no usage: %q", args, out.String())
		}
	}
	var out bytes.Buffer
	if _, err := demo.ParseFlags("x", []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	if help := out.String(); !strings.Contains(help, "-cookie-secure") || !strings.Contains(help, "plain HTTP") {
		t.Fatalf("the usage does not explain -cookie-secure:\n%s", help)
	}
}

// newSession returns a new session of a fresh Manager, the Manager, and a
// function that commits it and returns the next request's session with
// the cookie.
func newSession(t *testing.T) (*session.Session, *session.Manager, func() *session.Session) {
	t.Helper()
	m, err := session.NewManager()
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	x := &sessiontest.Exchange{IP: "192.0.2.1"}
	h := testenv.Begin(m, x)
	s, err := h.Session()
	require.NoError(t, err)
	next := func() *session.Session {
		t.Helper()
		require.NoError(t, h.Commit())
		c := x.LastCookie()
		require.NotNil(t, c, "no cookie")
		x2 := &sessiontest.Exchange{IP: "192.0.2.1", CookieMap: map[string][]string{c.Name: {c.Value}}}
		s2, err := testenv.Begin(m, x2).Session()
		require.NoError(t, err)
		return s2
	}
	return s, m, next
}

func TestHelpers(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "on": true, "true": true, "TRUE": true, "": false, "0": false, "yes": false} {
		assert.Equal(t, want, demo.ParseRemember(v), "ParseRemember(%q)", v)
	}
	assert.NoError(t, demo.ValidateFlash("hi"))
	assert.NoError(t, demo.ValidateFlash(strings.Repeat("é", demo.MaxFlashLen)))
	assert.Error(t, demo.ValidateFlash(""))
	assert.Error(t, demo.ValidateFlash(strings.Repeat("x", demo.MaxFlashLen+1)))
	assert.Error(t, demo.ValidateFlash("\xff"))
	theme, err := demo.ReadTheme(strings.NewReader(strings.Repeat("d", demo.MaxThemeSize)))
	assert.NoError(t, err)
	assert.Len(t, theme, demo.MaxThemeSize)
	_, err = demo.ReadTheme(strings.NewReader(strings.Repeat("d", demo.MaxThemeSize+1)))
	assert.Error(t, err)

	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	body := demo.Sessions([]session.SessionInfo{
		{Handle: "h1", Created: created, LastSeen: created, UserAgent: "ua", ClientIP: "192.0.2.1"},
		{Handle: "h2", Created: created, LastSeen: created},
	}, "h2")
	assert.Equal(t, `{"sessions":[{"handle":"h1","current":false,"created":"2026-01-02T03:04:05Z","last_seen":"2026-01-02T03:04:05Z","user_agent":"ua","client_ip":"192.0.2.1"},`+
		`{"handle":"h2","current":true,"created":"2026-01-02T03:04:05Z","last_seen":"2026-01-02T03:04:05Z","user_agent":"","client_ip":""}]}`+"\n",
		string(demo.JSON(body)))
	assert.Equal(t, `{"sessions":[]}`+"\n", string(demo.JSON(demo.Sessions(nil, ""))))
	assert.Equal(t, `{"flashes":["a","b"]}`+"\n", string(demo.JSON(demo.Flashes([]any{"a", 3, "b"}))))
	assert.Equal(t, `{"flashes":[]}`+"\n", string(demo.JSON(demo.Flashes(nil))))
}

func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{demo.State{Views: 3, User: "ann"}, `{"views":3,"user":"ann"}` + "\n"},
		{demo.State{}, `{"views":0,"user":""}` + "\n"},
		{demo.ErrorBody{Error: "bad"}, `{"error":"bad"}` + "\n"},
		{demo.LogoutBody{Destroyed: true}, `{"destroyed":true}` + "\n"},
		{demo.State{User: "<b>"}, `{"views":0,"user":"\u003cb\u003e"}` + "\n"},
	} {
		if got := string(demo.JSON(tc.v)); got != tc.want {
			t.Errorf("JSON(%+v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestPage(t *testing.T) {
	s, m, next := newSession(t)
	prefs, _, _ := newSession(t)
	app := &demo.App{Framework: "test", Config: demo.Config{Store: "redis://:pw@h:1/0"}, Manager: m}
	page, err := app.Page(context.Background(), s, prefs)
	require.NoError(t, err)
	assert.Contains(t, string(page), "Not logged in.")
	assert.Contains(t, string(page), `<b id="views">1</b>`, "the page counts a view")

	user := `<script>alert("x")</script>`
	s.Regenerate()
	s.SetOwner(user)
	require.NoError(t, s.AddFlash("<i>hi</i>"))
	require.NoError(t, prefs.AddFlash("from prefs"))
	page, err = app.Page(context.Background(), s, prefs)
	require.NoError(t, err)
	p := string(page)
	for _, want := range []string{`<b id="views">2</b>`, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`, "redis://h:1/0",
		`action="/login"`, `action="/logout"`, `name="remember"`, `<li class="flash">&lt;i&gt;hi&lt;/i&gt;</li>`,
		`<li class="flash">from prefs</li>`} {
		assert.Contains(t, p, want)
	}
	assert.NotContains(t, p, "<script")
	assert.NotContains(t, p, "pw")

	// Stored and listed: the page shows the session, with no revoke
	// button for this device.
	s2 := next()
	page, err = app.Page(context.Background(), s2, prefs)
	require.NoError(t, err)
	assert.Contains(t, string(page), `<tr class="session current">`)
	assert.NotContains(t, string(page), `class="flash"`, "flashes show once")
}

func TestStream(t *testing.T) {
	app := &demo.App{Config: demo.Config{StreamInterval: time.Millisecond}}
	var b bytes.Buffer
	var flushed []string
	err := app.Stream(context.Background(), &b, func() error { flushed = append(flushed, b.String()); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"line 1 of 3\n", "line 1 of 3\nline 2 of 3\n", "line 1 of 3\nline 2 of 3\nline 3 of 3\n"}
	if strings.Join(flushed, "|") != strings.Join(want, "|") {
		t.Fatalf("flushed after each line: %q, want %q", flushed, want)
	}

	// A cancelled request stops it before the next line.
	app.Config.StreamInterval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	b.Reset()
	err = app.Stream(ctx, &b, func() error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) || b.String() != "line 1 of 3\n" {
		t.Fatalf("cancelled stream: %v, wrote %q", err, b.String())
	}
	// A failed flush (the client left) stops it at once.
	b.Reset()
	boom := errors.New("gone")
	if err := app.Stream(context.Background(), &b, func() error { return boom }); err != boom {
		t.Fatalf("failed flush: %v", err)
	}
}

func TestOpenStoreErrors(t *testing.T) {
	ctx := context.Background()
	if _, _, err := demo.OpenStore(ctx, "mysql://h/db"); err == nil {
		t.Fatal("OpenStore accepted mysql")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, _, err := demo.OpenStore(ctx, "redis://:hunter2@"+addr+"/0"); err == nil {
		t.Fatal("OpenStore succeeded on a closed Redis port")
	} else if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if _, _, err := demo.OpenStore(ctx, "postgres://postgres:hunter2@"+addr+"/test?sslmode=disable"); err == nil {
		t.Fatal("OpenStore succeeded on a closed PostgreSQL port")
	}
}

func TestOpenStores(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sqlite := "sqlite:" + t.TempDir() + "/sessions.db"
	for _, spec := range []string{"memory", "redis://127.0.0.1:6379/11", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", sqlite} {
		s, closeStore, err := demo.OpenStore(ctx, spec)
		if err != nil {
			t.Fatalf("%s: %v (the tests need the real servers: scripts/services.sh starts them)", spec, err)
		}
		if _, err := s.Get(ctx, "no-such-key"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("%s: Get of a missing key = %v", spec, err)
		}
		if err := closeStore(); err != nil {
			t.Fatalf("%s: close: %v", spec, err)
		}
	}
}

// TestRun drives the runner: it serves the listener it is given, logs the
// real address, shuts down when its context ends, and reports bad command
// lines and build failures.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var built *demo.App
	build := func(app *demo.App) (demo.Server, error) {
		built = app
		return app.HTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hi")
		})), nil
	}
	log := demotest.NewLogBuffer("listening on ")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Options{Framework: "unit", Args: []string{"-lifetime", "1h"}, Build: build, Listener: ln, Log: log})
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hi" {
		t.Fatalf("body %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if built.Framework != "unit" || built.Config.Lifetime != time.Hour || built.Manager == nil || built.Logger == nil {
		t.Fatalf("the App handed to build: %+v", built)
	}
	want := "listening on http://" + ln.Addr().String() + " (framework unit, store memory)"
	if l := log.String(); !strings.Contains(l, want) || !strings.Contains(l, "msg=stopped") {
		t.Fatalf("log lacks %q or the stop:\n%s", want, l)
	}

	// Errors before serving: the listener is released.
	for _, tc := range []struct {
		args  []string
		usage bool
	}{
		{[]string{"-nope"}, true},
		{[]string{"-idle-timeout", "2h", "-lifetime", "1h"}, true},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		err = demo.Run(context.Background(), demo.Options{Framework: "unit", Args: tc.args, Build: build, Listener: ln, Log: io.Discard})
		if errors.Is(err, demo.ErrUsage) != tc.usage || err == nil {
			t.Errorf("Run(%q) = %v, want a usage error", tc.args, err)
		}
		if _, err := ln.Accept(); err == nil {
			t.Errorf("Run(%q) left the listener open", tc.args)
		}
	}
	boom := errors.New("boom")
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	err = demo.Run(context.Background(), demo.Options{Framework: "unit", Build: func(*demo.App) (demo.Server, error) { return nil, boom },
		Listener: ln2, Log: io.Discard})
	if !errors.Is(err, boom) || errors.Is(err, demo.ErrUsage) {
		t.Fatalf("Run with a failing build = %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	app := &demo.App{Config: demo.Config{ReadTimeout: time.Second, WriteTimeout: 2 * time.Second,
		ConnIdleTimeout: 3 * time.Second, StreamInterval: 5 * time.Second}}
	want := demo.Timeouts{Read: time.Second, Write: 2*time.Second + (demo.StreamLines-1)*5*time.Second, Idle: 3 * time.Second}
	if got := app.Timeouts(); got != want {
		t.Fatalf("Timeouts() = %+v, want %+v", got, want)
	}
}
