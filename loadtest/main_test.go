package loadtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shared services of this machine (scripts/services.sh starts them).
// The tests use Redis database redisDB, which no other module's tests use,
// and their own PostgreSQL schemas; the fault tests run private servers.
const (
	redisAddr = "127.0.0.1:6379"
	redisDB   = 13
	pgURL     = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	pgAddr    = "127.0.0.1:5432"
)

// storeLifetime is the -lifetime of demos on Redis and PostgreSQL, so that
// what the tests leave behind expires soon.
const storeLifetime = "10m"

// The demo binaries. On first use one go build makes all of Frameworks
// (in parallel, sharing the build cache). If one of them does not
// compile, each is then built on its own when a test asks for it (fast:
// the joint build cached what compiled), so the tests of the other demos
// still run and only that demo's fail, on its build error.
var (
	allOnce sync.Once
	binDir  string
	dirErr  error
	allBins map[string]string // nil when the joint build failed

	buildMu sync.Mutex
	builds  = map[string]*build{}
)

// build is the build of one demo on its own.
type build struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary returns the path of the demo binary of framework, building it on
// first use.
func binary(t testing.TB, framework string) string {
	t.Helper()
	allOnce.Do(func() {
		if binDir, dirErr = os.MkdirTemp("", "sessionkit-loadtest-"); dirErr != nil {
			binDir = ""
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		allBins, _ = BuildDemos(ctx, binDir, Frameworks...)
	})
	require.NoError(t, dirErr)
	if p, ok := allBins[framework]; ok {
		return p
	}
	buildMu.Lock()
	b := builds[framework]
	if b == nil {
		b = &build{}
		builds[framework] = b
	}
	buildMu.Unlock()
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var paths map[string]string
		paths, b.err = BuildDemos(ctx, binDir, framework)
		b.path = paths[framework]
	})
	require.NoError(t, b.err, "building the %s demo", framework)
	return b.path
}

// badLog matches what a demo must never log: a panic, a data race, a
// fatal runtime error.
var badLog = regexp.MustCompile(`(?i)panic|DATA RACE|fatal error|goroutine [0-9]+ \[`)

// startDemo runs the demo binary of framework with args and stops it at
// the end of the test: SIGTERM, and it must exit 0 within 20 s having
// logged no panic. The demo's log is printed when the test fails.
func startDemo(t testing.TB, framework string, args ...string) *Demo {
	t.Helper()
	d, err := StartDemo(binary(t, framework), args...)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, d.Stop(20*time.Second), "%s %q did not exit cleanly on SIGTERM", framework, d.Args)
		checkLog(t, d)
		if t.Failed() {
			t.Logf("log of %s %q:\n%s", framework, d.Args, truncate(d.Log(), 8000))
		}
	})
	return d
}

// checkLog fails the test if the demo logged a panic or a data race.
func checkLog(t testing.TB, d *Demo) {
	t.Helper()
	m := badLog.FindString(d.Log())
	assert.Empty(t, m, "%s logged a panic, a data race or a fatal error:\n%s", d.Framework, truncate(d.Log(), 8000))
}

// noIDsLogged fails the test if the demo's log holds any of ids.
func noIDsLogged(t testing.TB, d *Demo, ids []string) {
	t.Helper()
	log := d.Log()
	for _, id := range ids {
		if id != "" && strings.Contains(log, id) {
			assert.Fail(t, "session ID logged", "%s logged a session ID", d.Framework)
			return
		}
	}
}

// redisURL returns the URL of the shared Redis' test database.
func redisURL() string { return fmt.Sprintf("redis://%s/%d", redisAddr, redisDB) }

// sqliteSpec returns the -store of a new SQLite database in the test's
// temporary directory (removed after the demos using it have stopped:
// startDemo's cleanup runs first).
func sqliteSpec(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
}

// testStore is a -store for the demos: spec returns a fresh one for the
// test (a file, a schema, or the shared Redis database with the clients'
// random tags keeping runs apart).
type testStore struct {
	name string
	spec func(t testing.TB) string
}

// persistentStores are the stores whose sessions outlive the demo
// process.
var persistentStores = []testStore{
	{"sqlite", sqliteSpec},
	{"redis", func(testing.TB) string { return redisURL() }},
	{"postgres", func(t testing.TB) string { url, _ := pgSchema(t, pgAddr); return url }},
}

// storeArgs returns the demo arguments for the -store spec: the store,
// and for a persistent store a short lifetime, so that what the tests
// leave behind expires soon.
func storeArgs(spec string) []string {
	if spec == "memory" {
		return []string{"-store", spec}
	}
	return []string{"-store", spec, "-lifetime", storeLifetime}
}

// requireClean fails the test with the result's problems when it lost a
// write, leaked or failed a request.
func requireClean(t testing.TB, res *Result) {
	t.Helper()
	assert.True(t, res.Lost == 0 && res.Leaks == 0 && res.Errors == 0, "%s\nproblems:\n%s", res, strings.Join(res.Problems, "\n"))
}
