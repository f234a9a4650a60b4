package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGracefulShutdownUnderLoad sends SIGTERM to each demo (on Redis) in
// the middle of the load, while one PUT is in flight with half its body
// sent, then starts the demo again on the same port and store. Expected:
// the half-sent PUT completes with 204 after the SIGTERM and its value is
// readable from the new process; the old process exits 0 after logging its
// shutdown; the requests that fail in between fail on the connection
// (refused or closed), never with a 500; after the restart the final check
// finds every acknowledged write — among them the ones answered while the
// shutdown was under way — and no leak.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	for _, fw := range Frameworks {
		t.Run(fw, func(t *testing.T) {
			args := []string{"-store", redisURL(), "-lifetime", storeLifetime, "-shutdown-timeout", "15s"}
			a := startDemo(t, fw, args...)
			u, _ := url.Parse(a.URL)

			// A client whose PUT will be in flight at the SIGTERM.
			sid := login(t, a.URL, "slow-"+randomHex(3))
			slowVal := strings.Repeat("s", 3000) + randomHex(8)
			conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			require.NoError(t, err)
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "PUT /api/values/slow HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nCookie: sid=%s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
				u.Host, DefaultUserAgent, sid, len(slowVal), slowVal[:1000])

			rec := &recorder{}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			type ran struct {
				res *Result
				err error
			}
			done := make(chan ran, 1)
			go func() {
				res, err := Run(ctx, Config{Target: a.URL, Clients: faultClients, Duration: 2 * time.Second,
					Timeout: faultTimeout, ReadWriteOnly: true, Observe: rec.observe})
				done <- ran{res, err}
			}()
			time.Sleep(700 * time.Millisecond)
			termAt := time.Now()
			require.NoError(t, a.Signal(syscall.SIGTERM))
			time.Sleep(300 * time.Millisecond)
			// The rest of the body, after the SIGTERM: the request must be
			// served to the end.
			_, err = io.WriteString(conn, slowVal[1000:])
			require.NoError(t, err, "the in-flight request's connection broke after SIGTERM")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err, "no answer to the PUT in flight at SIGTERM")
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode, "the PUT in flight at SIGTERM")
			require.NoError(t, a.Wait(20*time.Second), "exit after SIGTERM, want status 0")
			stoppedAt := time.Now()
			for _, w := range []string{"shutting down", "msg=stopped"} {
				assert.Contains(t, a.Log(), w, "the log lacks %q", w)
			}

			// The same demo again, on the same port and store.
			b, err := startOn(binary(t, fw), u.Host, args)
			require.NoError(t, err, "restarting on %s", u.Host)
			restartedAt := time.Now()
			t.Cleanup(func() {
				assert.NoError(t, b.Stop(20*time.Second), "the restarted demo did not exit cleanly")
				checkLog(t, b)
			})
			r := <-done
			require.NoError(t, r.err)
			res := r.res

			got := getValue(t, b.URL, sid, "slow")
			assert.True(t, got == slowVal, "the value written by the request in flight at SIGTERM reads back as %q, want the %d bytes sent", truncate(got, 40), len(slowVal))
			var inFlightAcked, refused int
			for _, e := range rec.all() {
				end := e.Start.Add(e.Latency)
				if e.Err == nil && e.Start.Before(termAt) && end.After(termAt) {
					inFlightAcked++
				}
				if e.Err != nil {
					assert.Zero(t, e.Status, "%s answered with a status during the shutdown, want success or a connection error: %v", e.Op, e.Err)
					refused++
				}
			}
			t.Logf("%s: SIGTERM under load: the in-flight PUT completed; %d other requests in flight at SIGTERM answered; %d failed on the connection while down (%v from SIGTERM to exit, %v to the restart); %s",
				fw, inFlightAcked, refused, stoppedAt.Sub(termAt).Round(time.Millisecond), restartedAt.Sub(termAt).Round(time.Millisecond), res)
			assert.True(t, res.Lost == 0 && res.Leaks == 0 && res.WritesChecked > 0, "%s\n%s", res, strings.Join(res.Problems, "\n"))
			noIDsLogged(t, a, res.SessionIDs)
			noIDsLogged(t, b, res.SessionIDs)
		})
	}
}

// login logs a new client in as user at base and returns its session ID.
func login(t testing.TB, base, user string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/login", strings.NewReader(url.Values{"user": {user}}.Encode()))
	req.Header.Set("Content-Type", formType)
	req.Header.Set("User-Agent", DefaultUserAgent)
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "login")
	for _, c := range resp.Cookies() {
		if c.Name == "sid" && c.Value != "" {
			return c.Value
		}
	}
	require.Fail(t, "login set no session cookie")
	return ""
}

// getValue reads /api/values/key with the session sid; "" when there is
// none.
func getValue(t testing.TB, base, sid, key string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/values/"+key, nil)
	req.Header.Set("User-Agent", DefaultUserAgent)
	req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
	resp, err := testClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return string(b)
	case http.StatusNotFound:
		return ""
	}
	require.Failf(t, "unexpected status", "GET /api/values/%s: %d %q", key, resp.StatusCode, b)
	return ""
}

// testClient follows no redirect and keeps no cookies.
var testClient = &http.Client{
	Timeout:       20 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
