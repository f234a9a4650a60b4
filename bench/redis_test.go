package bench

import (
	"context"
	"sync/atomic"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/internal/testenv/rediscount"
	"github.com/stretchr/testify/require"
)

// The Redis rows run against the local server, in a database of their own
// so they never meet the keys of the store tests.
const (
	redisAddr     = "127.0.0.1:6379"
	redisDB       = 12
	redisLifetime = 10 * time.Minute // keys the benchmarks leave behind expire
)

// missingKey is what a bare round trip asks Redis for.
const missingKey = "bench:roundtrip:missing"

// A redisMeter counts what one subject's Redis client sends, and times its
// round trips (from handing the command to the client to having the
// reply), so the report can tell the cost of the round trips from the
// session work around them.
type redisMeter struct {
	cmds  func() int64 // commands sent so far (MULTI and EXEC included)
	trips func() int64 // round trips so far (a pipeline is one)
	// tripTime is the time spent inside round trips so far, in ns.
	tripTime *atomic.Int64
	// roundTrip sends one GET of a missing key and reads the answer.
	roundTrip func() error
}

// timeTrip runs one round trip and adds the time it took to the meter.
func timeTrip[T any](into *atomic.Int64, f func() (T, error)) (T, error) {
	t0 := time.Now()
	v, err := f()
	into.Add(int64(time.Since(t0)))
	return v, err
}

// redigoPool returns a redigo pool on the bench database whose connections
// count what is sent through them (as the go-redis hook counts it), and its
// meter. It fails tb when Redis does not answer.
func redigoPool(tb env) (*redigo.Pool, *redisMeter) {
	cmds, trips, tripTime := new(atomic.Int64), new(atomic.Int64), new(atomic.Int64)
	pool := &redigo.Pool{
		MaxIdle:     16,
		IdleTimeout: time.Minute,
		Dial: func() (redigo.Conn, error) {
			c, err := redigo.Dial("tcp", redisAddr, redigo.DialDatabase(redisDB))
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, cmds: cmds, trips: trips, tripTime: tripTime}, nil
		},
	}
	tb.Cleanup(func() { pool.Close() })
	rm := &redisMeter{cmds: cmds.Load, trips: trips.Load, tripTime: tripTime, roundTrip: func() error {
		conn := pool.Get()
		defer conn.Close()
		_, err := conn.Do("GET", missingKey)
		return err
	}}
	require.NoError(tb, rm.roundTrip(), "Redis at %s (start it with scripts/services.sh)", redisAddr)
	return pool, rm
}

// countingConn is a redigo connection that counts the commands sent and
// the round trips, and times the round trips: every Do flushes what was
// sent and reads every reply.
type countingConn struct {
	redigo.Conn
	cmds, trips, tripTime *atomic.Int64
}

// count counts cmd; the pool's Do("") only flushes and reads what is
// pending, which a Do before it has already done.
func (c countingConn) count(cmd string, trip bool) {
	if cmd != "" {
		c.cmds.Add(1)
		if trip {
			c.trips.Add(1)
		}
	}
}

func (c countingConn) Do(cmd string, args ...any) (any, error) {
	c.count(cmd, true)
	return timeTrip(c.tripTime, func() (any, error) { return c.Conn.Do(cmd, args...) })
}

func (c countingConn) Send(cmd string, args ...any) error {
	c.count(cmd, false)
	return c.Conn.Send(cmd, args...)
}

func (c countingConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	c.count(cmd, true)
	return timeTrip(c.tripTime, func() (any, error) { return redigo.DoContext(c.Conn, ctx, cmd, args...) })
}

func (c countingConn) ReceiveContext(ctx context.Context) (any, error) {
	return redigo.ReceiveContext(c.Conn, ctx)
}

func (c countingConn) DoWithTimeout(d time.Duration, cmd string, args ...any) (any, error) {
	c.count(cmd, true)
	return timeTrip(c.tripTime, func() (any, error) { return redigo.DoWithTimeout(c.Conn, d, cmd, args...) })
}

func (c countingConn) ReceiveWithTimeout(d time.Duration) (any, error) {
	return redigo.ReceiveWithTimeout(c.Conn, d)
}

// goredisClient returns a go-redis client on the bench database, counted
// by sessionkit's rediscount.Counter hook (for sessionkit and for
// the go-redis-based anchor alike), and its meter. It fails tb when Redis
// does not answer.
func goredisClient(tb env) (*goredis.Client, *redisMeter) {
	c := goredis.NewClient(&goredis.Options{Addr: redisAddr, DB: redisDB})
	tb.Cleanup(func() { c.Close() })
	ctx := context.Background()
	count := new(rediscount.Counter)
	timer := &tripTimer{ns: new(atomic.Int64)}
	c.AddHook(count)
	c.AddHook(timer)
	rm := &redisMeter{cmds: count.Commands, trips: count.RoundTrips, tripTime: timer.ns, roundTrip: func() error {
		if err := c.Get(ctx, missingKey).Err(); err != goredis.Nil {
			return err
		}
		return nil
	}}
	require.NoError(tb, rm.roundTrip(), "Redis at %s (start it with scripts/services.sh)", redisAddr)
	return c, rm
}

// tripTimer is a go-redis hook timing the round trips: the time from
// handing a command or pipeline to the client to having its reply.
type tripTimer struct{ ns *atomic.Int64 }

func (h *tripTimer) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *tripTimer) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		_, err := timeTrip(h.ns, func() (struct{}, error) { return struct{}{}, next(ctx, cmd) })
		return err
	}
}

func (h *tripTimer) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		_, err := timeTrip(h.ns, func() (struct{}, error) { return struct{}{}, next(ctx, cmds) })
		return err
	}
}
