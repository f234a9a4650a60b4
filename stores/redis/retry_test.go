package redisstore

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/require"
)

// replyDropper makes connections that, while armed, lose the reply to one
// EVALSHA: they let the server run the command and answer, read the answer
// off the socket, and then close the connection, as a network failure
// between Redis and the application does. go-redis then sends the command
// again on a new connection.
type replyDropper struct {
	armed   atomic.Bool
	dropped atomic.Int32
}

func (d *replyDropper) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &droppingConn{Conn: c, d: d}, nil
}

type droppingConn struct {
	net.Conn
	d       *replyDropper
	evalsha atomic.Bool // an EVALSHA was written while armed
}

func (c *droppingConn) Write(p []byte) (int, error) {
	if c.d.armed.Load() && bytes.Contains(bytes.ToLower(p), []byte("evalsha")) {
		c.evalsha.Store(true)
	}
	return c.Conn.Write(p)
}

func (c *droppingConn) Read(p []byte) (int, error) {
	if c.evalsha.Load() && c.d.armed.CompareAndSwap(true, false) {
		buf := make([]byte, 512)
		c.Conn.Read(buf) // the reply arrived: the script has run
		c.Conn.Close()
		c.d.dropped.Add(1)
		return 0, io.EOF
	}
	return c.Conn.Read(p)
}

// lossyManager returns a Manager on a store whose client loses the reply
// to the next EVALSHA each time d is armed.
func lossyManager(t *testing.T) (*session.Manager, *replyDropper) {
	t.Helper()
	d := new(replyDropper)
	c := redis.NewClient(&redis.Options{Addr: redisAddr(), Dialer: d.dial, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err())
	loadScript(t, c) // so the EVALSHA runs, rather than answering NOSCRIPT
	m, err := session.NewManager(session.WithStore(newTestStore(t, c)))
	require.NoError(t, err)
	return m, d
}

// TestLostReplyStillCreatesSession loses the reply to the compare-and-swap
// that creates a session. go-redis retries it; the retry finds the record
// it wrote itself and must report success, not a conflict (which the
// Manager turns into a 500 although the session was stored).
func TestLostReplyStillCreatesSession(t *testing.T) {
	m, d := lossyManager(t)
	var cookie string
	x := client(&cookie)
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	require.NoError(t, err)
	require.NoError(t, sess.Set("user", "ann"))
	d.armed.Store(true)
	require.NoError(t, h.Commit(), "creating a session whose first reply was lost")
	require.EqualValues(t, 1, d.dropped.Load(), "no reply was dropped: the test did not test anything")
	require.NotNil(t, x.LastCookie(), "no cookie for the stored session")

	cookie = x.LastCookie().Value
	sess, err = testenv.Begin(m, client(&cookie)).Session()
	require.NoError(t, err)
	require.False(t, sess.IsNew(), "the session is not in the store")
	require.Equal(t, "ann", sess.Get("user"))
}

// TestLostReplyIncrementsOnce loses the reply to the compare-and-swap that
// commits an increment: the retry must count as the write it is, not as a
// conflict after which the Manager merges the increment onto the record
// that already holds it and counts it twice.
func TestLostReplyIncrementsOnce(t *testing.T) {
	m, d := lossyManager(t)
	var cookie string
	request := func(f func(*session.Session)) {
		t.Helper()
		x := client(&cookie)
		h := testenv.Begin(m, x)
		sess, err := h.Session()
		require.NoError(t, err)
		f(sess)
		require.NoError(t, h.Commit())
		if ck := x.LastCookie(); ck != nil {
			cookie = ck.Value
		}
	}
	request(func(s *session.Session) { s.Incr("views", 1) })
	d.armed.Store(true)
	request(func(s *session.Session) { s.Incr("views", 1) })
	require.EqualValues(t, 1, d.dropped.Load(), "no reply was dropped: the test did not test anything")
	request(func(s *session.Session) {
		require.False(t, s.IsNew())
		n, _ := session.GetAs[int](s, "views")
		require.Equal(t, 2, n, "two increments, one of them retried after a lost reply")
	})
}
