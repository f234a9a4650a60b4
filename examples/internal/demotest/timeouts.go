package demotest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/stretchr/testify/require"
)

// The connection timeouts SlowClients gives the demo (-read-timeout and
// -conn-idle-timeout), and how much later than its timeout a connection
// may be closed on a busy machine.
const (
	slowReadTimeout = 600 * time.Millisecond
	slowIdleTimeout = time.Second
	closeSlack      = 2 * time.Second
)

// SlowClients checks the connection timeouts of the demo of framework,
// built by build, started on the memory store with short ones: a client
// that sends its request headers a byte at a time (slowloris), or its
// body, is disconnected once -read-timeout has passed, and an idle
// keep-alive connection once -conn-idle-timeout has; a request that takes
// less than the read timeout to arrive is answered.
func SlowClients(t *testing.T, framework string, build demo.BuildFunc) {
	d := Start(t, framework, build, "-read-timeout", slowReadTimeout.String(),
		"-conn-idle-timeout", slowIdleTimeout.String())
	u, err := url.Parse(d.URL)
	require.NoError(t, err)
	head := "GET /healthz HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: " + UserAgent + "\r\n"

	t.Run("SlowHeaders", func(t *testing.T) {
		// One byte of a never-ending header every 50 ms.
		conn, start := dial(t, u.Host)
		go dribble(conn, head+"X-Slow: ", 50*time.Millisecond)
		wantClosed(t, conn, start, slowReadTimeout, "sending its headers a byte at a time")
	})

	t.Run("SlowBody", func(t *testing.T) {
		conn, start := dial(t, u.Host)
		go dribble(conn, "POST /api/login HTTP/1.1\r\nHost: "+u.Host+"\r\nUser-Agent: "+UserAgent+
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", 50*time.Millisecond)
		wantClosed(t, conn, start, slowReadTimeout, "sending its body a byte at a time")
	})

	t.Run("IdleKeepAlive", func(t *testing.T) {
		conn, _ := dial(t, u.Host)
		br := bufio.NewReader(conn)
		_, err := io.WriteString(conn, head+"\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		msg := []any{"GET /healthz = %d %q (close %t), want 200 ok on a kept-alive connection", resp.StatusCode, body, resp.Close}
		require.Equal(t, 200, resp.StatusCode, msg...)
		require.Equal(t, "ok\n", string(body), msg...)
		require.False(t, resp.Close, msg...)
		wantClosedReader(t, conn, br, time.Now(), slowIdleTimeout, "idle after its request")
	})

	t.Run("QuickEnoughIsServed", func(t *testing.T) {
		// Headers in pieces over less than the read timeout still count.
		conn, _ := dial(t, u.Host)
		for _, piece := range []string{head, "X-Piece: 1\r\n", "\r\n"} {
			_, err := io.WriteString(conn, piece)
			require.NoError(t, err)
			time.Sleep(slowReadTimeout / 6)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "a request sent in pieces within the read timeout got no answer")
		body, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, "GET /healthz sent in pieces: body %q", body)
		require.Equal(t, "ok\n", string(body), "GET /healthz sent in pieces")
	})
}

// dial opens a connection to addr and returns it with the time it opened;
// the test closes it at its end.
func dial(t *testing.T, addr string) (net.Conn, time.Time) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn, time.Now()
}

// dribble writes s to conn one byte every interval, then keeps writing
// header bytes, until a write fails.
func dribble(conn net.Conn, s string, interval time.Duration) {
	for i := 0; ; i++ {
		b := byte('a')
		if i < len(s) {
			b = s[i]
		}
		if _, err := conn.Write([]byte{b}); err != nil {
			return
		}
		time.Sleep(interval)
	}
}

// wantClosed fails the test unless the demo closes conn between timeout
// (less a little: the demo's clock starts when it accepts) and timeout +
// closeSlack after since. Whatever the demo sends first (fiber answers 408)
// is read and ignored.
func wantClosed(t *testing.T, conn net.Conn, since time.Time, timeout time.Duration, what string) {
	t.Helper()
	wantClosedReader(t, conn, conn, since, timeout, what)
}

func wantClosedReader(t *testing.T, conn net.Conn, r io.Reader, since time.Time, timeout time.Duration, what string) {
	t.Helper()
	conn.SetReadDeadline(since.Add(timeout + closeSlack))
	_, err := io.Copy(io.Discard, r)
	took := time.Since(since)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(),
		"a client %s was still connected after %v; the timeout is %v", what, took.Round(time.Millisecond), timeout)
	require.GreaterOrEqual(t, took, timeout-100*time.Millisecond,
		"a client %s was disconnected after %v, before the %v timeout (%v)", what, took.Round(time.Millisecond), timeout, err)
	if testing.Verbose() {
		t.Logf("a client %s was disconnected after %v (timeout %v; read ended with %v)", what, took.Round(time.Millisecond), timeout, err)
	}
}
