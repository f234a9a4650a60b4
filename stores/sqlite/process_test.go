package sqlitestore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests re-execute their own binary as helper processes: TestMain
// runs the helper named by helperEnv instead of the tests. A helper reads
// its parameters from the environment, prints one JSON result on stdout
// and exits 0, or prints why it failed on stderr and exits 1.
const (
	helperEnv = "SQLITESTORE_TEST_HELPER"
	dbEnv     = "SQLITESTORE_TEST_DB"
	roundsEnv = "SQLITESTORE_TEST_ROUNDS"
	cookieEnv = "SQLITESTORE_TEST_COOKIE"
)

// casKeys are the records the processes of TestTwoProcessesShareOneFile
// increment.
var casKeys = []string{"c0", "c1", "c2", "c3"}

// clientExchange is a request of the client every Manager request of
// these tests comes from (one fingerprint), carrying the session cookie
// cookie under name when cookie is not empty.
func clientExchange(name, cookie string) *sessiontest.Exchange {
	x := &sessiontest.Exchange{IP: "192.0.2.50", Headers: map[string]string{"User-Agent": "helper"}}
	if cookie != "" {
		x.CookieMap = map[string][]string{name: {cookie}}
	}
	return x
}

func runHelper(name string) int {
	var (
		out any
		err error
	)
	switch name {
	case "cas":
		out, err = helperCAS()
	case "open":
		out, err = helperOpen()
	case "readonly-later":
		out, err = helperReadOnlyLater()
	default:
		err = fmt.Errorf("unknown helper %q", name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", name, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

// casResult is what the "cas" helper did.
type casResult struct {
	Increments, Conflicts, Requests int
}

// helperCAS opens the store, says "ready", waits for a line on stdin so
// that every process starts at once, then increments each of casKeys
// rounds times with GetVersion and SetVersion, retrying on conflicts, and
// increments the session of cookieEnv rounds times through a Manager. Any
// error but a conflict ends it.
func helperCAS() (casResult, error) {
	var res casResult
	rounds, err := strconv.Atoi(os.Getenv(roundsEnv))
	if err != nil {
		return res, err
	}
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, os.Getenv(dbEnv))
	if err != nil {
		return res, err
	}
	defer s.Close()
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		return res, err
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return res, fmt.Errorf("waiting for the start: %w", err)
	}
	for range rounds {
		for _, k := range casKeys {
			for {
				data, v, err := s.GetVersion(ctx, k)
				if err != nil {
					return res, fmt.Errorf("get %s: %w", k, err)
				}
				n, err := strconv.Atoi(string(data))
				if err != nil {
					return res, fmt.Errorf("record %s holds %q", k, data)
				}
				_, err = s.SetVersion(ctx, k, []byte(strconv.Itoa(n+1)), time.Now().Add(time.Hour), v)
				if errors.Is(err, session.ErrConflict) {
					res.Conflicts++
					continue
				}
				if err != nil {
					return res, fmt.Errorf("set %s: %w", k, err)
				}
				res.Increments++
				break
			}
		}
		h := testenv.Begin(m, clientExchange(m.CookieName(), os.Getenv(cookieEnv)))
		sess, err := h.Session()
		if err != nil {
			return res, fmt.Errorf("load: %w", err)
		}
		if sess.IsNew() {
			return res, errors.New("the shared session was not found")
		}
		sess.Incr("n", 1)
		if err := h.Commit(); err != nil {
			return res, fmt.Errorf("commit: %w", err)
		}
		res.Requests++
	}
	return res, nil
}

// startHelper starts this test binary as the named helper with env
// added, as an unprivileged user when asUser is set (see asNobody).
func startHelper(t *testing.T, name string, env []string, cred *syscall.Credential) (*exec.Cmd, io.WriteCloser, *bufio.Reader, *strings.Builder) {
	t.Helper()
	exe := testBinary(t, cred != nil)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+name)...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, stdin, bufio.NewReader(stdout), stderr
}

// finishHelper waits for a helper and decodes its result into out.
func finishHelper(t *testing.T, name string, cmd *exec.Cmd, stdout *bufio.Reader, stderr *strings.Builder, out any) {
	t.Helper()
	rest, _ := io.ReadAll(stdout)
	err := cmd.Wait()
	require.NoError(t, err, "helper %s failed: %s", name, stderr.String())
	require.NoError(t, json.Unmarshal(rest, out), "helper %s printed %q", name, rest)
}

// testBinary returns the path of this test binary; for a helper that runs
// as another user, a copy that user can execute.
func testBinary(t *testing.T, forOtherUser bool) string {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	if !forOtherUser {
		return exe
	}
	dir := worldDir(t)
	src, err := os.Open(exe)
	require.NoError(t, err)
	defer src.Close()
	dst := filepath.Join(dir, "helper.test")
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(f, src)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return dst
}

// worldDir makes a temporary directory every user may use (t.TempDir's
// parent is private to this user), removed at the end of the test.
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sqlitestore-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	return dir
}

// TestTwoProcessesShareOneFile runs two processes that increment the same
// records and the same session at once, through their own Store on one
// file: no update may be lost, and no call may fail but with a conflict
// (the busy timeout absorbs the other process's write lock).
func TestTwoProcessesShareOneFile(t *testing.T) {
	const procs, rounds = 2, 150
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path)
	for _, k := range casKeys {
		require.NoError(t, setVersion(s, k, []byte("0"), time.Now().Add(time.Hour), 0))
	}
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)
	x := clientExchange("", "")
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	require.NoError(t, err)
	sess.Set("n", 0)
	require.NoError(t, h.Commit())
	cookie := x.LastCookie().Value

	env := []string{dbEnv + "=" + path, roundsEnv + "=" + strconv.Itoa(rounds), cookieEnv + "=" + cookie}
	type proc struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		stdout *bufio.Reader
		stderr *strings.Builder
	}
	var ps []proc
	for range procs {
		cmd, stdin, stdout, stderr := startHelper(t, "cas", env, nil)
		line, err := stdout.ReadString('\n')
		require.NoError(t, err, "helper did not get ready: %s", stderr)
		require.Equal(t, "ready\n", line)
		ps = append(ps, proc{cmd, stdin, stdout, stderr})
	}
	for _, p := range ps {
		_, err := io.WriteString(p.stdin, "go\n")
		require.NoError(t, err)
	}
	conflicts := 0
	for _, p := range ps {
		var res casResult
		finishHelper(t, "cas", p.cmd, p.stdout, p.stderr, &res)
		assert.Equal(t, rounds*len(casKeys), res.Increments)
		assert.Equal(t, rounds, res.Requests)
		conflicts += res.Conflicts
	}
	for _, k := range casKeys {
		data, err := s.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(procs*rounds), string(data), "record %s: updates were lost", k)
	}
	sess, err = testenv.Begin(m, clientExchange(m.CookieName(), cookie)).Session()
	require.NoError(t, err)
	assert.Equal(t, procs*rounds, sess.Get("n"), "session increments were lost")
	// Without conflicts the processes never overlapped and the test
	// proved nothing.
	assert.Positive(t, conflicts, "the processes never raced")
	t.Logf("%d processes, %d increments each: %d conflicts, all retried", procs, rounds*len(casKeys), conflicts)
}
