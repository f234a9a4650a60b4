package sqlitestore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
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

// faultEnv is a Manager over a Store on path, with one logged-in session
// holding n = 1.
type faultEnv struct {
	t      *testing.T
	s      *sqlitestore.Store
	m      *session.Manager
	cookie string
}

func newFaultEnv(t *testing.T, path string, opts ...sqlitestore.Option) *faultEnv {
	t.Helper()
	s := openStore(t, path, opts...)
	m, err := session.NewManager(session.WithStore(s))
	require.NoError(t, err)
	e := &faultEnv{t: t, s: s, m: m}
	x := e.exchange()
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	require.NoError(t, err)
	sess.Set("n", 1)
	require.NoError(t, h.Commit())
	e.cookie = x.LastCookie().Value
	return e
}

func (e *faultEnv) exchange() *sessiontest.Exchange {
	return clientExchange(e.m.CookieName(), e.cookie)
}

// setN runs a request that sets n and returns what loading and committing
// gave.
func (e *faultEnv) setN(n int) (loadErr, commitErr error) {
	h := testenv.Begin(e.m, e.exchange())
	sess, err := h.Session()
	if err != nil {
		return err, nil
	}
	if sess.IsNew() {
		return errors.New("the session came back empty"), nil
	}
	sess.Set("n", n)
	return nil, h.Commit()
}

// n loads the session and returns n, failing the test on an error or an
// empty session.
func (e *faultEnv) n() int {
	e.t.Helper()
	sess, err := testenv.Begin(e.m, e.exchange()).Session()
	require.NoError(e.t, err)
	require.False(e.t, sess.IsNew(), "the session was lost")
	n, _ := session.GetAs[int](sess, "n")
	return n
}

// TestLockedDatabaseFailsWritesWithStoreError has another connection hold
// the write lock beyond the busy timeout: a commit fails with an error
// wrapping ErrStore once the timeout has passed, reads go on (WAL), and
// nothing is lost once the lock is released.
func TestLockedDatabaseFailsWritesWithStoreError(t *testing.T) {
	const busy = 300 * time.Millisecond
	ctx := context.Background()
	path := dbPath(t)
	e := newFaultEnv(t, path, sqlitestore.WithBusyTimeout(busy))
	patient := openStore(t, path, sqlitestore.WithBusyTimeout(time.Minute))
	holder, err := rawDB(t, path).Conn(ctx)
	require.NoError(t, err)
	defer holder.Close()
	_, err = holder.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)

	start := time.Now()
	loadErr, commitErr := e.setN(2)
	took := time.Since(start)
	require.NoError(t, loadErr, "reading while another connection writes")
	require.ErrorIs(t, commitErr, session.ErrStore)
	assert.ErrorContains(t, commitErr, "locked")
	assert.GreaterOrEqual(t, took, busy, "the commit did not wait for the busy timeout")
	assert.Less(t, took, 10*busy+2*time.Second, "the commit waited far beyond the busy timeout")
	assert.Equal(t, 1, e.n())

	// A request's deadline ends the wait sooner than the busy timeout.
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = patient.Set(dctx, "k", []byte("v"), time.Now().Add(time.Minute))
	require.Error(t, err)
	assert.Less(t, time.Since(start), 20*time.Second, "a write waited for the lock past its context's deadline")

	_, err = holder.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
	loadErr, commitErr = e.setN(3)
	require.NoError(t, loadErr)
	require.NoError(t, commitErr, "after the lock was released")
	assert.Equal(t, 3, e.n())
}

// TestLockedDatabaseFailsReadsWithStoreError has another connection lock
// the file exclusively, readers included: loading fails with an error
// wrapping ErrStore, never with a new, empty session.
func TestLockedDatabaseFailsReadsWithStoreError(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	e := newFaultEnv(t, path, sqlitestore.WithBusyTimeout(200*time.Millisecond))
	// Connections opened so far keep the WAL index open; make the store
	// read through new ones, as after a restart.
	e.s.DB().SetMaxIdleConns(0)
	other := rawDB(t, path)
	holder, err := other.Conn(ctx)
	require.NoError(t, err)
	for _, q := range []string{"PRAGMA locking_mode=EXCLUSIVE", "BEGIN EXCLUSIVE", "UPDATE sessionkit_sessions SET data = data WHERE 0", "COMMIT"} {
		_, err = holder.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}

	_, err = testenv.Begin(e.m, e.exchange()).Session()
	require.ErrorIs(t, err, session.ErrStore, "loading from a database locked against readers")
	assert.ErrorContains(t, err, "locked")

	holder.Close()
	require.NoError(t, other.Close()) // releases the exclusive lock
	assert.Equal(t, 1, e.n())
}

// TestNotADatabaseFailsAtOpen opens files that are not SQLite databases:
// Open fails with ErrNotDatabase naming the file, and leaves it as it was.
func TestNotADatabaseFailsAtOpen(t *testing.T) {
	ctx := context.Background()
	for name, content := range map[string][]byte{
		"text":           bytes.Repeat([]byte("this is not a database\n"), 200),
		"random":         bytes.Repeat([]byte{0x8f, 0x13, 0xc7, 0x00, 0x55}, 1000),
		"damaged header": append([]byte("SQLite format 3\x00\xff\xff"), bytes.Repeat([]byte{0xee}, 8192)...),
	} {
		path := dbPath(t)
		require.NoError(t, os.WriteFile(path, content, 0o644))
		_, err := sqlitestore.Open(ctx, path)
		require.ErrorIs(t, err, sqlitestore.ErrNotDatabase, name)
		assert.ErrorContains(t, err, path, name)
		got, rerr := os.ReadFile(path)
		require.NoError(t, rerr)
		assert.True(t, bytes.Equal(content, got), "%s: Open changed the file", name)

		// New over a *sql.DB on it says the same.
		db := rawDB(t, path)
		_, err = sqlitestore.New(ctx, db)
		require.ErrorIs(t, err, sqlitestore.ErrNotDatabase, name)
	}
	// A directory is not a database file either.
	_, err := sqlitestore.Open(ctx, t.TempDir())
	require.Error(t, err)
	_, err = sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "missing", "sessions.db"))
	require.ErrorContains(t, err, "cannot open")
}

// asNobody returns the credentials for a helper that must be bound by
// file permissions: root ignores them, so as root the helper runs as
// nobody; otherwise as the current user.
func asNobody() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}
}

// openResult is what the "open" helper saw.
type openResult struct {
	Err         string
	ReadOnly    bool
	NotDatabase bool
}

// helperOpen opens the store on the file of dbEnv and reports the error.
func helperOpen() (openResult, error) {
	s, err := sqlitestore.Open(context.Background(), os.Getenv(dbEnv))
	if err != nil {
		return openResult{Err: err.Error(), ReadOnly: errors.Is(err, sqlitestore.ErrReadOnly),
			NotDatabase: errors.Is(err, sqlitestore.ErrNotDatabase)}, nil
	}
	return openResult{}, s.Close()
}

// TestReadOnlyFileFailsAtOpen opens a database file this process may not
// write (as another user, see asNobody): Open fails with ErrReadOnly
// naming the file, and the sessions in it are intact.
func TestReadOnlyFileFailsAtOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(worldDir(t), "sessions.db")
	s, err := sqlitestore.Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "k", []byte("kept"), time.Now().Add(time.Hour)))
	require.NoError(t, s.Close())
	require.NoError(t, os.Chmod(path, 0o444))

	cmd, _, stdout, stderr := startHelper(t, "open", []string{dbEnv + "=" + path}, asNobody())
	var res openResult
	finishHelper(t, "open", cmd, stdout, stderr, &res)
	require.NotEmpty(t, res.Err, "Open succeeded on a read-only file")
	assert.True(t, res.ReadOnly, "error %q does not wrap ErrReadOnly", res.Err)
	assert.Contains(t, res.Err, path)

	// A *sql.DB opened read-only is refused by New the same way.
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_busy_timeout=1000")
	require.NoError(t, err)
	defer ro.Close()
	_, err = sqlitestore.New(ctx, ro)
	require.ErrorIs(t, err, sqlitestore.ErrReadOnly)

	require.NoError(t, os.Chmod(path, 0o644))
	s = openStore(t, path)
	got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "kept", string(got))
}

// laterResult is what the "readonly-later" helper saw.
type laterResult struct {
	CommitErr              string
	CommitIsStore          bool
	LoadErr                string
	LoadIsStore, LoadEmpty bool
	LoadN                  int
	RecoveredN             int
	RecoverErr             string
}

// helperReadOnlyLater logs a session in, makes the database file
// read-only and has the store open new connections, which SQLite then
// opens read-only: a commit must fail with ErrStore, a load must give the
// stored session or an ErrStore error. Then it makes the file writable
// again and checks that a commit goes through.
func helperReadOnlyLater() (laterResult, error) {
	var res laterResult
	path := os.Getenv(dbEnv)
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.WithBusyTimeout(500*time.Millisecond))
	if err != nil {
		return res, err
	}
	defer s.Close()
	m, err := session.NewManager(session.WithStore(s))
	if err != nil {
		return res, err
	}
	x := clientExchange("", "")
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	if err != nil {
		return res, err
	}
	sess.Set("n", 1)
	if err := h.Commit(); err != nil {
		return res, err
	}
	cookie := x.LastCookie().Value
	request := func(n int) (*session.Session, error) {
		h := testenv.Begin(m, clientExchange(m.CookieName(), cookie))
		sess, err := h.Session()
		if err != nil || n == 0 {
			return sess, err
		}
		sess.Set("n", n)
		return sess, h.Commit()
	}

	if err := os.Chmod(path, 0o444); err != nil {
		return res, err
	}
	s.DB().SetMaxIdleConns(0) // every call on a new connection from now on
	if _, err := request(2); err != nil {
		res.CommitErr, res.CommitIsStore = err.Error(), errors.Is(err, session.ErrStore)
	}
	sess, err = request(0)
	if err != nil {
		res.LoadErr, res.LoadIsStore = err.Error(), errors.Is(err, session.ErrStore)
	} else {
		res.LoadEmpty = sess.IsNew()
		res.LoadN, _ = session.GetAs[int](sess, "n")
	}

	// SQLite created the -shm file anew with the database's read-only
	// mode meanwhile: an operator restores all three files.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, err
		}
	}
	if _, err := request(3); err != nil {
		res.RecoverErr = err.Error()
		return res, nil
	}
	if sess, err = request(0); err != nil {
		res.RecoverErr = err.Error()
		return res, nil
	}
	res.RecoveredN, _ = session.GetAs[int](sess, "n")
	return res, nil
}

// TestFileTurnsReadOnlyWhileRunning makes the database file read-only
// under a running store (as another user, see asNobody): commits fail
// with ErrStore, loads never return an empty session, and the store
// recovers when the file is writable again.
func TestFileTurnsReadOnlyWhileRunning(t *testing.T) {
	path := filepath.Join(worldDir(t), "sessions.db")
	cmd, _, stdout, stderr := startHelper(t, "readonly-later", []string{dbEnv + "=" + path}, asNobody())
	var res laterResult
	finishHelper(t, "readonly-later", cmd, stdout, stderr, &res)
	t.Logf("%+v", res)
	require.NotEmpty(t, res.CommitErr, "a commit to a read-only file succeeded")
	assert.True(t, res.CommitIsStore, "commit error %q does not wrap ErrStore", res.CommitErr)
	assert.Contains(t, res.CommitErr, "readonly")
	if res.LoadErr != "" {
		assert.True(t, res.LoadIsStore, "load error %q does not wrap ErrStore", res.LoadErr)
	} else {
		assert.False(t, res.LoadEmpty, "a load from a read-only file came back empty")
		assert.Equal(t, 1, res.LoadN, "the failed commit changed the session")
	}
	assert.Empty(t, res.RecoverErr, "the store did not recover when the file became writable")
	assert.Equal(t, 3, res.RecoveredN, "the store did not recover when the file became writable")
}
