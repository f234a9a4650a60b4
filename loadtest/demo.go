package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Frameworks names the demo programs, one per supported framework.
var Frameworks = []string{"nethttp", "gin", "echo", "echov5", "fiber", "fiberv3"}

// DemoPackage is the import path prefix of the demo programs; the
// framework's name completes it.
const DemoPackage = "github.com/sessionkit/sessionkit/examples/"

// BuildDemos builds the demo programs of frameworks into dir with one go
// build (so they compile in parallel and share the build cache) and
// returns the path of each binary by framework. It must run inside the
// sessionkit Go workspace, which the go command finds from the working
// directory.
func BuildDemos(ctx context.Context, dir string, frameworks ...string) (map[string]string, error) {
	if len(frameworks) == 0 {
		return nil, errors.New("loadtest: BuildDemos: no framework")
	}
	args := []string{"build", "-buildvcs=false", "-o", dir + string(filepath.Separator)}
	paths := make(map[string]string, len(frameworks))
	for _, fw := range frameworks {
		if !knownFramework(fw) {
			return nil, fmt.Errorf("loadtest: unknown framework %q (want one of %s)", fw, strings.Join(Frameworks, ", "))
		}
		args = append(args, DemoPackage+fw)
		paths[fw] = filepath.Join(dir, fw)
	}
	cmd := exec.CommandContext(ctx, goTool(), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("loadtest: go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return paths, nil
}

func knownFramework(fw string) bool {
	for _, f := range Frameworks {
		if f == fw {
			return true
		}
	}
	return false
}

// goTool returns the go command to build with.
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

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Demo is a running demo program.
type Demo struct {
	// Framework is the demo's framework, as the demo logged it.
	Framework string
	// URL is the demo's base URL, such as "http://127.0.0.1:43210".
	URL string
	// Args is the demo's command line without the program name.
	Args []string

	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{}
	err    error // of cmd.Wait, once exited is closed
}

// listening matches the line a demo logs once it accepts connections.
var listening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+) \(framework ([a-z0-9]+), store ([^)]+)\)`)

// StartDemo runs the demo binary bin with args and waits, at most 30
// seconds, until it logs that it listens. Unless args hold an -addr, the
// demo listens on 127.0.0.1 with a port the system picks. The demo's
// stdout and stderr are captured (see Log). The caller stops it with Stop
// or Kill.
func StartDemo(bin string, args ...string) (*Demo, error) {
	hasAddr := false
	for _, a := range args {
		if a == "-addr" || strings.HasPrefix(a, "-addr=") || a == "--addr" || strings.HasPrefix(a, "--addr=") {
			hasAddr = true
		}
	}
	if !hasAddr {
		args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	}
	d := &Demo{Args: args, log: newLogBuffer("listening on "), exited: make(chan struct{})}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: starting %s: %w", bin, err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	fail := func(format string, a ...any) (*Demo, error) {
		d.Kill()
		return nil, fmt.Errorf("loadtest: %s %q: %s\nlog:\n%s", filepath.Base(bin), args, fmt.Sprintf(format, a...), d.log)
	}
	select {
	case <-d.log.seen:
	case <-d.exited:
		return fail("exited before listening: %v", d.err)
	case <-time.After(30 * time.Second):
		return fail("did not log that it listens within 30s")
	}
	// The line is complete once its closing parenthesis is in.
	deadline := time.Now().Add(5 * time.Second)
	m := listening.FindStringSubmatch(d.log.String())
	for m == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		m = listening.FindStringSubmatch(d.log.String())
	}
	if m == nil {
		return fail("no well-formed listening line")
	}
	d.URL, d.Framework = m[1], m[2]
	return d, nil
}

// PID returns the demo's process ID.
func (d *Demo) PID() int { return d.cmd.Process.Pid }

// Log returns what the demo has written to stdout and stderr so far.
func (d *Demo) Log() string { return d.log.String() }

// Exited is closed once the process has exited.
func (d *Demo) Exited() <-chan struct{} { return d.exited }

// Signal sends sig to the process.
func (d *Demo) Signal(sig os.Signal) error { return d.cmd.Process.Signal(sig) }

// Wait waits at most timeout for the process to exit and returns the
// error of its exit (nil for status 0). The process is killed if it has
// not exited by then.
func (d *Demo) Wait(timeout time.Duration) error {
	select {
	case <-d.exited:
		return d.err
	case <-time.After(timeout):
		d.Kill()
		return fmt.Errorf("loadtest: %s did not exit within %v; killed", d.Framework, timeout)
	}
}

// Stop sends SIGTERM, the demo's graceful shutdown, and waits at most
// timeout for the process to exit. It returns nil when the process exited
// with status 0 (or had already exited that way).
func (d *Demo) Stop(timeout time.Duration) error {
	select {
	case <-d.exited:
		return d.err
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return d.Wait(timeout)
}

// Kill kills the process at once and waits for it to be reaped.
func (d *Demo) Kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	d.cmd.Process.Kill()
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
	}
}

// RSS returns the resident set size of the demo process in bytes, read
// from /proc/<pid>/status (VmRSS).
func (d *Demo) RSS() (int64, error) { return ProcessRSS(d.PID()) }

// ProcessRSS returns the resident set size in bytes of the process pid,
// read from /proc/<pid>/status (Linux only).
func ProcessRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("loadtest: RSS of %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("loadtest: RSS of %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("loadtest: RSS of %d: no VmRSS line in /proc/%d/status", pid, pid)
}

// logBuffer collects a process's output. It is safe for concurrent writes
// and closes seen when marker was first written.
type logBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	marker string
	seen   chan struct{}
	found  bool
}

func newLogBuffer(marker string) *logBuffer {
	return &logBuffer{marker: marker, seen: make(chan struct{})}
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if !l.found && bytes.Contains(l.b.Bytes(), []byte(l.marker)) {
		l.found = true
		close(l.seen)
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
