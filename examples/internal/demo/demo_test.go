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
		if tc.ok {
			assert.NoError(t, err, "ValidateUser(%q)", tc.user)
		} else {
			assert.Error(t, err, "ValidateUser(%q)", tc.user)
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
		if tc.ok {
			assert.NoError(t, err, "ValidateKey(%q)", tc.key)
		} else {
			assert.Error(t, err, "ValidateKey(%q)", tc.key)
		}
	}
}

func TestReadValue(t *testing.T) {
	max := strings.Repeat("v", demo.MaxValueSize)
	b, err := demo.ReadValue(strings.NewReader(max))
	require.NoError(t, err, "ReadValue(%d bytes)", len(max))
	require.Equal(t, max, string(b), "ReadValue(%d bytes)", len(max))
	b, err = demo.ReadValue(strings.NewReader(""))
	require.NoError(t, err, "ReadValue(empty)")
	require.Empty(t, b, "ReadValue(empty)")
	_, err = demo.ReadValue(strings.NewReader(max + "v"))
	require.Error(t, err, "ReadValue accepted MaxValueSize+1 bytes")
	// It stops reading right after the limit.
	r := &countingReader{r: strings.NewReader(strings.Repeat("v", 1<<20))}
	_, err = demo.ReadValue(r)
	require.Error(t, err, "ReadValue of 1 MiB after reading %d bytes", r.n)
	require.LessOrEqual(t, r.n, demo.MaxValueSize+1, "ReadValue of 1 MiB read too much: err %v", err)
	_, err = demo.ReadValue(iotest.ErrReader(io.ErrUnexpectedEOF))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "ReadValue of a failing body")
	require.NoError(t, demo.CheckValue([]byte(max)))
	require.Error(t, demo.CheckValue([]byte(max+"v")), "CheckValue accepted MaxValueSize+1 bytes")
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
	require.NoError(t, err)
	want := demo.Config{
		Addr: "127.0.0.1:8080", Store: "memory", IdleTimeout: 0, Lifetime: session.DefaultLifetime,
		CookieSecure: false, StreamInterval: time.Second, ShutdownTimeout: 10 * time.Second,
		StoreTimeout: 3 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ConnIdleTimeout: 2 * time.Minute, RotateGrace: 30 * time.Second,
	}
	require.Equal(t, want, c, "defaults")
}

func TestParseFlags(t *testing.T) {
	c, err := demo.ParseFlags("x", []string{"-addr", ":0", "-store", "redis://127.0.0.1:6379/3",
		"-idle-timeout", "30m", "-lifetime", "8h", "-cookie-secure", "-stream-interval", "5ms",
		"-shutdown-timeout", "3s", "-store-timeout", "750ms", "-read-timeout", "2s", "-write-timeout", "4s",
		"-conn-idle-timeout", "5s", "-token-header", "X-Session", "-rotate-grace", "2s"}, io.Discard)
	require.NoError(t, err)
	want := demo.Config{
		Addr: ":0", Store: "redis://127.0.0.1:6379/3", IdleTimeout: 30 * time.Minute, Lifetime: 8 * time.Hour,
		CookieSecure: true, StreamInterval: 5 * time.Millisecond, ShutdownTimeout: 3 * time.Second,
		StoreTimeout: 750 * time.Millisecond, ReadTimeout: 2 * time.Second, WriteTimeout: 4 * time.Second,
		ConnIdleTimeout: 5 * time.Second, TokenHeader: "X-Session", RotateGrace: 2 * time.Second,
	}
	require.Equal(t, want, c, "parsed")
	c, err = demo.ParseFlags("x", []string{"-max-sessions", "100"}, io.Discard)
	require.NoError(t, err, "-max-sessions 100")
	require.Equal(t, 100, c.MaxSessions, "-max-sessions 100: %+v", c)
	for _, store := range []string{"memory", "rediss://h:1/0", "postgres://u@h/db", "postgresql://u@h/db", "REDIS://h:1/0"} {
		_, err := demo.ParseFlags("x", []string{"-store", store}, io.Discard)
		assert.NoError(t, err, "-store %s", store)
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
		_, err := demo.ParseFlags("x", args, &out)
		if assert.Error(t, err, "ParseFlags(%q) accepted it", args) {
			assert.Contains(t, out.String(), "Usage: x", "ParseFlags(%q) printed no usage", args)
		}
	}
	var out bytes.Buffer
	_, err := demo.ParseFlags("x", []string{"-h"}, &out)
	require.ErrorIs(t, err, flag.ErrHelp, "-h")
	require.Contains(t, out.String(), "-cookie-secure", "the usage does not explain -cookie-secure")
	require.Contains(t, out.String(), "plain HTTP", "the usage does not explain -cookie-secure")
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
		assert.Equal(t, tc.want, string(demo.JSON(tc.v)), "JSON(%+v)", tc.v)
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
	require.NoError(t, err)
	want := []string{"line 1 of 3\n", "line 1 of 3\nline 2 of 3\n", "line 1 of 3\nline 2 of 3\nline 3 of 3\n"}
	require.Equal(t, strings.Join(want, "|"), strings.Join(flushed, "|"), "flushed after each line")

	// A cancelled request stops it before the next line.
	app.Config.StreamInterval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	b.Reset()
	err = app.Stream(ctx, &b, func() error { cancel(); return nil })
	require.ErrorIs(t, err, context.Canceled, "cancelled stream wrote %q", b.String())
	require.Equal(t, "line 1 of 3\n", b.String(), "cancelled stream")
	// A failed flush (the client left) stops it at once.
	b.Reset()
	boom := errors.New("gone")
	require.Same(t, boom, app.Stream(context.Background(), &b, func() error { return boom }), "failed flush")
}

func TestOpenStoreErrors(t *testing.T) {
	ctx := context.Background()
	_, _, err := demo.OpenStore(ctx, "mysql://h/db")
	require.Error(t, err, "OpenStore accepted mysql")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, _, err = demo.OpenStore(ctx, "redis://:hunter2@"+addr+"/0")
	require.Error(t, err, "OpenStore succeeded on a closed Redis port")
	require.NotContains(t, err.Error(), "hunter2", "the error shows the password")
	_, _, err = demo.OpenStore(ctx, "postgres://postgres:hunter2@"+addr+"/test?sslmode=disable")
	require.Error(t, err, "OpenStore succeeded on a closed PostgreSQL port")
}

func TestOpenStores(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sqlite := "sqlite:" + t.TempDir() + "/sessions.db"
	for _, spec := range []string{"memory", "redis://127.0.0.1:6379/11", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", sqlite} {
		s, closeStore, err := demo.OpenStore(ctx, spec)
		require.NoError(t, err, "%s (the tests need the real servers: scripts/services.sh starts them)", spec)
		_, err = s.Get(ctx, "no-such-key")
		require.ErrorIs(t, err, session.ErrNotFound, "%s: Get of a missing key", spec)
		require.NoError(t, closeStore(), "%s: close", spec)
	}
}

// TestRun drives the runner: it serves the listener it is given, logs the
// real address, shuts down when its context ends, and reports bad command
// lines and build failures.
func TestRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
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
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "hi", string(body), "body")
	cancel()
	require.NoError(t, <-done, "Run")
	require.Equal(t, "unit", built.Framework, "the App handed to build: %+v", built)
	require.Equal(t, time.Hour, built.Config.Lifetime, "the App handed to build: %+v", built)
	require.NotNil(t, built.Manager, "the App handed to build: %+v", built)
	require.NotNil(t, built.Logger, "the App handed to build: %+v", built)
	want := "listening on http://" + ln.Addr().String() + " (framework unit, store memory)"
	require.Contains(t, log.String(), want, "log lacks the address")
	require.Contains(t, log.String(), "msg=stopped", "log lacks the stop")

	// Errors before serving: the listener is released.
	for _, tc := range []struct {
		args  []string
		usage bool
	}{
		{[]string{"-nope"}, true},
		{[]string{"-idle-timeout", "2h", "-lifetime", "1h"}, true},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		err = demo.Run(context.Background(), demo.Options{Framework: "unit", Args: tc.args, Build: build, Listener: ln, Log: io.Discard})
		assert.Error(t, err, "Run(%q), want a usage error", tc.args)
		assert.Equal(t, tc.usage, errors.Is(err, demo.ErrUsage), "Run(%q) = %v, want a usage error", tc.args, err)
		_, err = ln.Accept()
		assert.Error(t, err, "Run(%q) left the listener open", tc.args)
	}
	boom := errors.New("boom")
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	err = demo.Run(context.Background(), demo.Options{Framework: "unit", Build: func(*demo.App) (demo.Server, error) { return nil, boom },
		Listener: ln2, Log: io.Discard})
	require.ErrorIs(t, err, boom, "Run with a failing build")
	require.NotErrorIs(t, err, demo.ErrUsage, "Run with a failing build")
}

func TestTimeouts(t *testing.T) {
	app := &demo.App{Config: demo.Config{ReadTimeout: time.Second, WriteTimeout: 2 * time.Second,
		ConnIdleTimeout: 3 * time.Second, StreamInterval: 5 * time.Second}}
	want := demo.Timeouts{Read: time.Second, Write: 2*time.Second + (demo.StreamLines-1)*5*time.Second, Idle: 3 * time.Second}
	require.Equal(t, want, app.Timeouts(), "Timeouts()")
}
