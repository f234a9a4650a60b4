package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/examples/internal/demotest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var frameworks = []string{"nethttp", "gin", "echo", "fiber", "echov5", "fiberv3"}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary returns the path of the demo program of framework, building all
// four with go build on first use (one go command, so they compile in
// parallel and share the build cache with everything else).
func binary(t *testing.T, framework string) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "sessionkit-demos-"); buildErr != nil {
			return
		}
		// -buildvcs=false: no VCS stamp (the tree may be dirty); -ldflags=-w:
		// no DWARF, which makes linking the four binaries quicker.
		args := []string{"build", "-buildvcs=false", "-ldflags=-w", "-o", binDir + string(filepath.Separator)}
		for _, fw := range frameworks {
			args = append(args, "./"+fw)
		}
		cmd := exec.Command(goTool(), args...)
		cmd.Dir = filepath.Join("..", "..") // the examples module
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	require.NoError(t, buildErr)
	return filepath.Join(binDir, framework)
}

// goTool returns the go command that runs this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// listening matches the line a demo logs once it accepts connections.
var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+) \(framework ([a-z0-9]+), store ([^)]+)\)`)

// proc is a running demo program.
type proc struct {
	URL    string
	cmd    *exec.Cmd
	log    *demotest.LogBuffer
	exited chan struct{}
	err    error // of cmd.Wait, once exited is closed
}

// start runs the demo binary of framework on 127.0.0.1:0 with args (after
// a short -stream-interval) and waits for its "listening on" line. At the
// end of the test a still running process gets SIGTERM and must exit 0.
func start(t *testing.T, framework string, args ...string) *proc {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-stream-interval", demotest.StreamInterval.String()}, args...)
	p := &proc{log: demotest.NewLogBuffer("listening on "), exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t, framework), args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
			assert.NoError(t, p.err, "%s %q did not exit cleanly on SIGTERM\nlog:\n%s", framework, args, p.log)
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			assert.Fail(t, "the demo did not exit on SIGTERM", "%s %q\nlog:\n%s", framework, args, p.log)
		}
	})
	select {
	case <-p.log.Seen():
	case <-p.exited:
		// Fail, not NoError: exiting at all, even with status 0, is the failure.
		require.Fail(t, "the demo exited before listening", "%s %q: %v\nlog:\n%s", framework, args, p.err, p.log)
	case <-time.After(30 * time.Second):
		require.Fail(t, "the demo did not log that it listens", "%s %q\nlog:\n%s", framework, args, p.log)
	}
	// The line is complete once its closing parenthesis is in.
	deadline := time.Now().Add(5 * time.Second)
	var m []string
	for m = listening.FindStringSubmatch(p.log.String()); m == nil && time.Now().Before(deadline); m = listening.FindStringSubmatch(p.log.String()) {
		time.Sleep(5 * time.Millisecond)
	}
	require.NotNil(t, m, "%s: no well-formed listening line:\n%s", framework, p.log)
	require.Equal(t, framework, m[2], "%s: no well-formed listening line:\n%s", framework, p.log)
	p.URL = m[1]
	return p
}

// wait waits for the process to exit and returns its error.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		require.Fail(t, "the process did not exit", "log:\n%s", p.log)
		return nil
	}
}

// TestGracefulShutdown runs each demo's real binary, makes a request, and
// sends SIGTERM while a /api/stream response is in flight: the stream must
// complete, new connections must be refused, and the process must exit 0
// after logging its shutdown.
func TestGracefulShutdown(t *testing.T) {
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			p := start(t, fw, "-stream-interval", "250ms")
			c := demotest.NewClient(t, p.URL)
			c.Get("/api/session").Want(200, demo.ContentTypeJSON, demotest.StateJSON(1, ""))
			sid := c.SID

			req, err := http.NewRequest("GET", p.URL+"/api/stream", nil)
			require.NoError(t, err)
			req.Header.Set("User-Agent", demotest.UserAgent)
			req.AddCookie(&http.Cookie{Name: demotest.CookieName, Value: sid})
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			first, err := br.ReadString('\n')
			require.NoError(t, err, "first stream line %q", first)
			require.Equal(t, demo.StreamLine(1), first, "first stream line")

			// The stream is in flight: ask the process to stop.
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			rest, err := io.ReadAll(br)
			require.NoError(t, err, "the stream broke off after SIGTERM (got %q)", rest)
			require.Equal(t, demo.StreamLine(2)+demo.StreamLine(3), string(rest), "the stream after SIGTERM")
			require.NoError(t, p.wait(t), "exit after SIGTERM, want status 0\nlog:\n%s", p.log)
			log := p.log.String()
			for _, want := range []string{"shutting down", "msg=stopped"} {
				require.Contains(t, log, want, "the log lacks it")
			}
			require.NotContains(t, log, sid, "the log holds the session ID")
			u, _ := url.Parse(p.URL)
			conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
			if err == nil {
				conn.Close()
			}
			require.Error(t, err, "the port still accepts connections after the process exited")
		})
	}
}

// TestInterrupt checks that Ctrl-C (SIGINT) stops a demo as cleanly as
// SIGTERM does.
func TestInterrupt(t *testing.T) {
	p := start(t, "fiber")
	demotest.NewClient(t, p.URL).Get("/healthz").Want(200, demo.ContentTypeText, "ok\n")
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	require.NoError(t, p.wait(t), "exit after SIGINT, want status 0\nlog:\n%s", p.log)
	require.Contains(t, p.log.String(), "msg=stopped", "no clean stop logged")
}

// TestCommandLine checks how the binaries fail: a bad flag, store URL or
// configuration exits 2, a store that cannot be reached exits 1 with a
// message naming it, and -h exits 0 with the usage.
func TestCommandLine(t *testing.T) {
	run := func(t *testing.T, fw string, wantCode int, wantOut string, args ...string) {
		t.Helper()
		cmd := exec.Command(binary(t, fw), args...)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		msg := []any{"%s %q exited %d with %q, want %d and output containing %q", fw, args, code, out, wantCode, wantOut}
		require.Equal(t, wantCode, code, msg...)
		require.Contains(t, string(out), wantOut, msg...)
	}
	t.Run("Help", func(t *testing.T) {
		run(t, "gin", 0, "-cookie-secure", "-h")
	})
	t.Run("UnknownFlag", func(t *testing.T) {
		run(t, "echo", 2, "flag provided but not defined: -nope", "-nope")
	})
	t.Run("IdleTimeoutOverLifetime", func(t *testing.T) {
		run(t, "nethttp", 2, "idle timeout 5h0m0s exceeds lifetime 4h0m0s", "-idle-timeout", "5h", "-addr", "127.0.0.1:0")
	})
	t.Run("UnknownStore", func(t *testing.T) {
		run(t, "fiber", 2, `unknown -store "mongodb://127.0.0.1"`, "-store", "mongodb://127.0.0.1", "-addr", "127.0.0.1:0")
	})
	t.Run("StoreUnreachable", func(t *testing.T) {
		// A port nothing listens on: take one and free it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		run(t, "nethttp", 1, "redis store redis://"+addr+"/11", "-store", "redis://"+addr+"/11", "-addr", "127.0.0.1:0")
		run(t, "gin", 1, "postgres store", "-store", "postgres://postgres@"+addr+"/test?sslmode=disable&connect_timeout=5", "-addr", "127.0.0.1:0")
	})
}

// TestCrossFramework runs two demos of different frameworks on one shared
// store and proves they share sessions: the cookie from a login on one
// works on the other (same fingerprint settings, same codec, same keys),
// changes made on either are seen on both, and a logout on one ends the
// session on the other; so do the user's sessions, flashes, rotation and
// logout everywhere (demotest.CrossFeatures). A login on fiber v3 is seen
// on gin and on echo v4 through one Redis; SQLite is shared by two
// processes through one database file.
func TestCrossFramework(t *testing.T) {
	sqlite := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db") // one file, two processes
	for _, tc := range []struct{ a, b, store string }{
		{"gin", "echo", demotest.RedisURL},
		{"nethttp", "fiber", demotest.RedisURL},
		{"fiberv3", "gin", demotest.RedisURL},
		{"fiberv3", "echo", demotest.RedisURL},
		{"echo", "nethttp", demotest.PostgresURL},
		{"fiber", "gin", demotest.PostgresURL},
		{"echov5", "fiberv3", demotest.PostgresURL},
		{"nethttp", "echov5", sqlite},
		{"fiber", "echo", sqlite},
	} {
		scheme, _, _ := strings.Cut(tc.store, ":")
		t.Run(tc.a+"-"+tc.b+"-"+scheme, func(t *testing.T) {
			t.Parallel()
			pa := start(t, tc.a, "-store", tc.store, "-lifetime", demotest.StoreLifetime)
			pb := start(t, tc.b, "-store", tc.store, "-lifetime", demotest.StoreLifetime)
			cross(t, pa.URL, pb.URL)
			demotest.CrossFeatures(t, pa.URL, pb.URL)
			for _, p := range []*proc{pa, pb} {
				require.Contains(t, p.log.String(), "store "+demo.StoreName(tc.store)+")", "log does not name the store")
			}
		})
	}
}

func cross(t *testing.T, a, b string) {
	ca := demotest.NewClient(t, a)
	ca.Get("/api/session").Want(200, demo.ContentTypeJSON, demotest.StateJSON(1, ""))
	anon := ca.SID
	ca.PostForm("/api/login", url.Values{"user": {"ann"}}).Want(200, demo.ContentTypeJSON, demotest.StateJSON(1, "ann"))
	require.NotEmpty(t, ca.SID, "login on the first demo did not regenerate the ID")
	require.NotEqual(t, anon, ca.SID, "login on the first demo did not regenerate the ID")

	// The cookie from a works on b.
	cb := ca.With(b, ca.SID)
	cb.Get("/api/peek").Want(200, demo.ContentTypeJSON, demotest.StateJSON(1, "ann")).NoCookie()
	cb.Get("/api/session").Want(200, demo.ContentTypeJSON, demotest.StateJSON(2, "ann")).NoCookie()
	cb.Do("PUT", "/api/values/note", "", []byte("written on b")).Want(204, "", "").NoCookie()
	ca.Get("/api/values/note").Want(200, demo.ContentTypeText, "written on b")
	ca.Get("/api/session").Want(200, demo.ContentTypeJSON, demotest.StateJSON(3, "ann"))
	cb.Get("/api/peek").Want(200, demo.ContentTypeJSON, demotest.StateJSON(3, "ann"))
	// The pre-login ID is dead on b too.
	ca.With(b, anon).Get("/api/peek").Want(200, demo.ContentTypeJSON, demotest.StateJSON(0, ""))

	// A login on b regenerates; the old ID dies on a.
	old := cb.SID
	cb.PostForm("/api/login", url.Values{"user": {"bob"}}).Want(200, demo.ContentTypeJSON, demotest.StateJSON(3, "bob"))
	ca.SID = cb.SID
	ca.Get("/api/peek").Want(200, demo.ContentTypeJSON, demotest.StateJSON(3, "bob"))
	ca.With(a, old).Get("/api/peek").Want(200, demo.ContentTypeJSON, demotest.StateJSON(0, ""))

	// A logout on a ends the session on b.
	ca.Do("POST", "/api/logout", "", nil).Want(200, demo.ContentTypeJSON, `{"destroyed":true}`+"\n").ExpiredCookie()
	cb.Get("/api/peek").Want(200, demo.ContentTypeJSON, demotest.StateJSON(0, "")).NoCookie()
	cb.Get("/api/values/note").WantJSONError(404)
}
