package browser

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frameworks are the demo programs under examples/, one per framework.
var frameworks = []string{"nethttp", "gin", "echo", "fiber", "echov5", "fiberv3"}

// The demo binaries, built once for all the tests of the package.
var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// demoBinaries builds the demos on its first call (buildDemos) into a new
// temporary directory, and returns that directory.
func demoBinaries() (string, error) {
	buildOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "sessionkit-browser-demos-"); binErr == nil {
			binErr = buildDemos(binDir)
		}
	})
	return binDir, binErr
}

// buildDemos builds every demo program with one go build into dir; the
// binaries are named after their frameworks. The build runs in the
// examples module of the workspace this module belongs to, and gives up
// after 5 minutes.
func buildDemos(dir string) error {
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// -buildvcs=false: no VCS stamp, so the packages come from the build
	// cache the examples module's own tests fill. -s -w: no symbol table
	// and no DWARF, which makes the four links about twice as fast.
	args := []string{"build", "-buildvcs=false", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, fw := range frameworks {
		args = append(args, "./"+fw)
	}
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = examples
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the demos: go %s (in %s): %v\n%s", strings.Join(args, " "), examples, err, out)
	}
	return nil
}

// goTool returns the go command that runs this test.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// listening matches the line a demo logs once it accepts connections.
var listening = regexp.MustCompile(`listening on http://(127\.0\.0\.1:[0-9]+) \(framework ([a-z0-9]+), store ([^)]+)\)`)

// demo is a running demo program.
type demo struct {
	// Addr is the host:port it listens on, from its "listening on" line.
	Addr string
	log  *syncBuffer
}

// startDemo runs the binary bin (of framework) with -addr 127.0.0.1:0 and
// args and returns once it logged its address. The test's cleanup stops it
// with SIGTERM (and kills it if it has not exited 10 s later).
func startDemo(t *testing.T, bin, framework string, args ...string) *demo {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	d := &demo{log: &syncBuffer{}}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = d.log, d.log
	require.NoError(t, cmd.Start(), "starting the %s demo", framework)
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
			assert.Fail(t, "the demo exited before the test ended", "the %s demo %q: %v\nlog:\n%s", framework, args, waitErr, d.log)
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			assert.NoError(t, waitErr, "the %s demo did not exit cleanly on SIGTERM\nlog:\n%s", framework, d.log)
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			assert.Fail(t, "the demo did not exit within 10 s of SIGTERM; killed it", "the %s demo\nlog:\n%s", framework, d.log)
		}
	})
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := listening.FindStringSubmatch(d.log.String()); m != nil {
			require.Equal(t, framework, m[2], "the %s binary names another framework:\n%s", framework, d.log)
			d.Addr = m[1]
			return d
		}
		select {
		case <-exited:
			// Fail, not NoError: exiting at all, even with status 0, is the failure.
			require.Fail(t, "the demo exited before listening", "the %s demo %q: %v\nlog:\n%s", framework, args, waitErr, d.log)
		case <-deadline.C:
			require.Fail(t, "the demo did not log a listening line within 30 s", "the %s demo %q\nlog:\n%s", framework, args, d.log)
		case <-tick.C:
		}
	}
}

// Port returns the port of d's address.
func (d *demo) Port() string {
	_, port, _ := strings.Cut(d.Addr, ":")
	return port
}

// syncBuffer is a bytes.Buffer that a process's output and the test can
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
