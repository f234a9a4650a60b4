package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// redisAddr is the single Redis the tests use: REDIS_ADDR, or
// 127.0.0.1:6379.
func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

const clusterHint = `start one with: eval "$(scripts/redis-cluster.sh start)" (from the repository root)`

// clusterAddrs returns REDIS_CLUSTER_ADDRS, failing the test when it is
// unset: a missing Cluster must not pass for a skipped test.
func clusterAddrs(tb testing.TB) []string {
	tb.Helper()
	v := os.Getenv("REDIS_CLUSTER_ADDRS")
	if v == "" {
		tb.Fatalf("REDIS_CLUSTER_ADDRS is not set; the Redis Cluster tests need a running Cluster; %s", clusterHint)
	}
	return strings.Split(v, ",")
}

// singleClient returns a client of the single Redis, failing the test if
// it does not answer.
func singleClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr(), ContextTimeoutEnabled: true})
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis at %s (REDIS_ADDR) does not answer: %v", redisAddr(), err)
	}
	return c
}

// clusterClient returns a client of the test Cluster, failing the test if
// it is not set up or not healthy.
func clusterClient(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	addrs := clusterAddrs(tb)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		tb.Fatalf("Redis Cluster at %v (REDIS_CLUSTER_ADDRS) does not answer: %v; %s", addrs, err, clusterHint)
	}
	if !strings.Contains(info, "cluster_state:ok") {
		tb.Fatalf("Redis Cluster at %v is not healthy:\n%s", addrs, info)
	}
	var masters atomic.Int32
	err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		masters.Add(1)
		return n.Ping(ctx).Err()
	})
	if err != nil {
		tb.Fatalf("a master of the Redis Cluster does not answer: %v", err)
	}
	if masters.Load() < 3 {
		tb.Fatalf("the Redis Cluster at %v has %d masters; the tests need 3", addrs, masters.Load())
	}
	return c
}

// testPrefix returns a key prefix no other test, run or helper uses.
func testPrefix(tb testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '*' || r == '?' || r == '[' || r == ']' || r == '{' || r == '}' {
			return '_'
		}
		return r
	}, tb.Name())
	return "sktest:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}

// newTestStore returns a Store with a fresh prefix on c that is cleared
// when the test ends.
func newTestStore(tb testing.TB, c redis.UniversalClient) *Store {
	tb.Helper()
	s := New(c, WithPrefix(testPrefix(tb)))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Clear(ctx); err != nil {
			tb.Errorf("cleanup: Clear: %v", err)
		}
	})
	return s
}

// loadScript caches the update script on every node behind c, so that
// command counts do not include go-redis's one-time EVAL fallback.
func loadScript(tb testing.TB, c redis.UniversalClient) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return setScript.Load(ctx, n).Err()
		})
	} else {
		err = setScript.Load(ctx, c).Err()
	}
	if err != nil {
		tb.Fatalf("SCRIPT LOAD: %v", err)
	}
}

// client is a request from one browser, as the Manager sees it.
func client(cookie *string) *sessiontest.Exchange {
	x := &sessiontest.Exchange{IP: "192.0.2.7", Headers: map[string]string{"User-Agent": "redisstore-test"}}
	if cookie != nil && *cookie != "" {
		x.CookieMap = map[string][]string{session.DefaultCookieName: {*cookie}}
	}
	return x
}

// freePort returns a loopback TCP port nothing listens on right now.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// redisServer is a redis-server this test runs as a child process.
type redisServer struct {
	tb   testing.TB
	port int
	dir  string
	conf string   // config file, or ""
	args []string // extra arguments, such as --sentinel or --replicaof
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis runs redis-server on a free loopback port, persisting
// nothing, with the extra arguments args, and waits until it answers. It is
// stopped when the test ends.
func startRedis(tb testing.TB, args ...string) *redisServer {
	tb.Helper()
	return startRedisIn(tb, tb.TempDir(), freePort(tb), "", args...)
}

// startRedisIn is startRedis with the working directory, port and config
// file (or "") given.
func startRedisIn(tb testing.TB, dir string, port int, conf string, args ...string) *redisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server is not installed: %v", err)
	}
	r := &redisServer{tb: tb, port: port, dir: dir, conf: conf, args: args}
	r.start()
	tb.Cleanup(func() { r.stop(syscall.SIGKILL) })
	return r
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// start starts the server on r.port and waits up to 10 s for it to answer.
func (r *redisServer) start() {
	r.tb.Helper()
	var args []string
	if r.conf != "" {
		args = append(args, r.conf) // a config file must come first
	}
	args = append(args, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no",
		"--logfile", "")
	args = append(args, r.args...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		r.tb.Fatalf("start redis-server: %v", err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-r.done:
			r.tb.Fatalf("redis-server on port %d exited at start (port taken?): last ping error %v", r.port, err)
		default:
		}
		if time.Now().After(deadline) {
			r.stop(syscall.SIGKILL)
			r.tb.Fatalf("redis-server on port %d did not answer within 10s: %v", r.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends sig to the server and waits up to 10 s for it to exit,
// killing it if it has not.
func (r *redisServer) stop(sig syscall.Signal) {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// within runs f and fails the test if it has not returned after d: a hang
// guard, not a timing assertion.
func within(tb testing.TB, d time.Duration, what string, f func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		tb.Fatalf("%s hung for more than %v", what, d)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
