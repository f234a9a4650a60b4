package bench

import (
	"context"
	"sync/atomic"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
	redisstore "github.com/sessionkit/sessionkit/stores/redis"
)

// The Redis rows run against the local server, in a database of their own
// so they never meet the keys of the store tests.
const (
	redisAddr     = "127.0.0.1:6379"
	redisDB       = 12
	redisLifetime = 10 * time.Minute // keys the benchmarks leave behind expire
)

// redigoPool returns a redigo pool on the bench database whose connections
// count every command sent through them (MULTI and EXEC included, as the
// go-redis hook counts them), and a function reading the count. It fails tb
// when Redis does not answer.
func redigoPool(tb env) (*redigo.Pool, func() int64) {
	n := new(atomic.Int64)
	pool := &redigo.Pool{
		MaxIdle:     16,
		IdleTimeout: time.Minute,
		Dial: func() (redigo.Conn, error) {
			c, err := redigo.Dial("tcp", redisAddr, redigo.DialDatabase(redisDB))
			if err != nil {
				return nil, err
			}
			return countingConn{Conn: c, n: n}, nil
		},
	}
	tb.Cleanup(func() { pool.Close() })
	conn := pool.Get()
	_, err := conn.Do("PING")
	conn.Close()
	if err != nil {
		tb.Fatalf("Redis at %s: %v (start it with scripts/services.sh)", redisAddr, err)
	}
	return pool, n.Load
}

// countingConn is a redigo connection that counts the commands sent.
type countingConn struct {
	redigo.Conn
	n *atomic.Int64
}

func (c countingConn) count(cmd string) {
	if cmd != "" { // the pool's Do("") only flushes
		c.n.Add(1)
	}
}

func (c countingConn) Do(cmd string, args ...any) (any, error) {
	c.count(cmd)
	return c.Conn.Do(cmd, args...)
}

func (c countingConn) Send(cmd string, args ...any) error {
	c.count(cmd)
	return c.Conn.Send(cmd, args...)
}

func (c countingConn) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	c.count(cmd)
	return redigo.DoContext(c.Conn, ctx, cmd, args...)
}

func (c countingConn) ReceiveContext(ctx context.Context) (any, error) {
	return redigo.ReceiveContext(c.Conn, ctx)
}

func (c countingConn) DoWithTimeout(d time.Duration, cmd string, args ...any) (any, error) {
	c.count(cmd)
	return redigo.DoWithTimeout(c.Conn, d, cmd, args...)
}

func (c countingConn) ReceiveWithTimeout(d time.Duration) (any, error) {
	return redigo.ReceiveWithTimeout(c.Conn, d)
}

// goredisClient returns a go-redis client on the bench database whose
// commands are counted by sessionkit's redisstore.CommandCounter hook (for
// sessionkit and for the go-redis-based anchor alike), and a function
// reading the count. It fails tb when Redis does not answer.
func goredisClient(tb env) (*goredis.Client, func() int64) {
	c := goredis.NewClient(&goredis.Options{Addr: redisAddr, DB: redisDB})
	tb.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("Redis at %s: %v (start it with scripts/services.sh)", redisAddr, err)
	}
	count := new(redisstore.CommandCounter)
	c.AddHook(count)
	return c, count.Commands
}
