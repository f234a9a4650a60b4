package pgstore_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit/internal/testenv"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// defaultURL is the test database of the project's machines; PG_URL
// overrides it.
const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func pgURL() string { return cmp.Or(os.Getenv("PG_URL"), defaultURL) }

// countTracer counts the statements a pool sends (one round trip each).
type countTracer struct{ n atomic.Int64 }

func (c *countTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *countTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

var (
	sharedOnce   sync.Once
	sharedPool   *pgxpool.Pool
	sharedTracer = new(countTracer)
	sharedErr    error
)

// newPool connects a new pool to dsn, with tr as its tracer when not nil,
// and fails the test loudly if the server does not answer.
func newPool(tb testing.TB, dsn string, tr pgx.QueryTracer, maxConns int32) *pgxpool.Pool {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(tb, err, "bad PostgreSQL URL %q", redact(dsn))
	if tr != nil {
		cfg.ConnConfig.Tracer = tr
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(tb, err, "pgxpool")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		require.NoError(tb, err, "PostgreSQL at %s is unreachable.\n"+
			"These tests need a real server: start it (scripts/services.sh) or point PG_URL at one.", redact(dsn))
	}
	return pool
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			return u.String()
		}
	}
	return dsn
}

// testPool returns the pool shared by the tests, made on first use.
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	sharedOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(pgURL())
		if err != nil {
			sharedErr = fmt.Errorf("bad PostgreSQL URL %q: %w", redact(pgURL()), err)
			return
		}
		cfg.ConnConfig.Tracer = sharedTracer
		sharedPool, sharedErr = pgxpool.NewWithConfig(context.Background(), cfg)
		if sharedErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sharedPool.Ping(ctx); err != nil {
			sharedErr = fmt.Errorf("PostgreSQL at %s is unreachable: %w\n"+
				"These tests need a real server: start it (scripts/services.sh) or point PG_URL at one.", redact(pgURL()), err)
		}
	})
	require.NoError(tb, sharedErr)
	return sharedPool
}

// uniqueTable returns a table name no other test or run uses, and drops
// the table at the end of the test.
func uniqueTable(tb testing.TB) string {
	tb.Helper()
	name := "pgstore_test_" + strings.ToLower(rand.Text())
	pool := testPool(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		drop := "DROP TABLE IF EXISTS " + pgx.Identifier{name}.Sanitize() + ", " + pgx.Identifier{name + "_owners"}.Sanitize()
		_, err := pool.Exec(ctx, drop)
		assert.NoError(tb, err, "drop test table %s", name)
	})
	return name
}

// newStore returns a Store on the shared pool over a fresh table of its
// own, closed at the end of the test.
func newStore(tb testing.TB, opts ...pgstore.Option) *pgstore.Store {
	tb.Helper()
	return newStoreOn(tb, testPool(tb), opts...)
}

// newStoreOn is newStore on a pool of the test's own.
func newStoreOn(tb testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) *pgstore.Store {
	tb.Helper()
	// A fresh table of its own unless opts name one (the later option wins).
	opts = append([]pgstore.Option{pgstore.WithTable(uniqueTable(tb)), pgstore.WithCreateTable()}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := pgstore.New(ctx, pool, opts...)
	require.NoError(tb, err, "pgstore.New")
	tb.Cleanup(func() { s.Close() })
	return s
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// dsnVia returns the test URL with its host and port replaced by addr.
func dsnVia(tb testing.TB, addr string) string {
	tb.Helper()
	u, err := url.Parse(pgURL())
	require.NoError(tb, err)
	u.Host = addr
	return u.String()
}

// newProxy starts a testenv.Proxy in front of the PostgreSQL server
// of the test URL, which a test can cut, black-hole and restore on the
// same port.
func newProxy(tb testing.TB) *testenv.Proxy {
	tb.Helper()
	u, err := url.Parse(pgURL())
	require.NoError(tb, err)
	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}
	return testenv.StartProxy(tb, upstream)
}

// setVersion is SetVersion for tests that only look at the error.
func setVersion(s *pgstore.Store, ctx context.Context, key string, data []byte, exp time.Time, v uint64) error {
	_, err := s.SetVersion(ctx, key, data, exp, v)
	return err
}

// allRecords collects what Range visits.
func allRecords(s *pgstore.Store, ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.Range(ctx, func(k string, d []byte, _ uint64) error {
		out[k] = append([]byte(nil), d...)
		return nil
	})
	return out, err
}
