package loadtest

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Restart-test sizes: the demo is killed restartLoad after the load
// starts, so that about a second of logins and writes is at stake.
const (
	restartClients = 16
	restartLoad    = time.Second
)

// TestKillRestartNothingLost kills each demo with SIGKILL in the middle of
// the load, on every persistent store (SQLite in a file of the test's
// temporary directory, the shared Redis, a PostgreSQL schema of its own),
// starts a new demo process on the same port and store, and lets the
// driver's final check read everything back through the new process with
// the clients' cookie jars. A SIGKILL gives the process no chance to
// flush anything, so only what the store held when the 2xx went out
// survives. Expected: every acknowledged write (a 204 received) reads
// back as last acknowledged and every client whose last login was
// acknowledged (a 200 received) is still logged in with its views
// (lost=0), nothing leaks, no request failed before the kill, and every
// request to the new process succeeds. The requests in flight at the kill
// fail on the connection and may or may not have landed; the driver
// accepts either outcome for them (uncertain, resets).
func TestKillRestartNothingLost(t *testing.T) {
	for _, fw := range Frameworks {
		for _, st := range persistentStores {
			t.Run(fw+"/"+st.name, func(t *testing.T) {
				res, k := killRestart(t, fw, storeArgs(st.spec(t)))
				t.Logf("%s %s: SIGKILL after %v of load: %d writes and %d logins acknowledged, %d requests in flight cut (%d more failed after it), restarted %v after the kill; through the new process: %d values as last acknowledged, %d sessions still logged in, lost %d; %s",
					fw, st.name, restartLoad, res.Writes, res.Logins, k.cut, k.refused, k.down.Round(time.Millisecond),
					res.WritesChecked, res.LoginsChecked, res.Lost, res)
				assert.Zero(t, res.Lost, "acknowledged writes or logins lost across the restart:\n%s", strings.Join(res.Problems, "\n"))
				assert.Zero(t, res.Leaks, "leaks:\n%s", strings.Join(res.Problems, "\n"))
				assert.Positive(t, res.WritesChecked, "the final check verified no write: %s", res)
				assert.Positive(t, res.LoginsChecked, "the final check found no client logged in: %s", res)
			})
		}
	}
}

// TestKillRestartCatchesLoss proves that the restart test can fail: the
// same kill and restart on the memory store, which dies with the process.
// Expected: the final check reports the sessions and values as lost, finds
// no client still logged in, and sees no leak (a new process hands out
// empty sessions, never someone else's).
func TestKillRestartCatchesLoss(t *testing.T) {
	res, k := killRestart(t, "nethttp", storeArgs("memory"))
	t.Logf("memory store, SIGKILL and restart: %d writes and %d logins acknowledged, %d requests cut (%d more failed after it); %s", res.Writes, res.Logins, k.cut, k.refused, res)
	assert.Positive(t, res.Lost, "the driver reported nothing lost although the memory store died with the process")
	assert.Zero(t, res.LoginsChecked, "a client is still logged in after the memory store died")
	assert.Zero(t, res.Leaks, strings.Join(res.Problems, "\n"))
}

// killReport is what killRestart measured besides the driver's Result.
type killReport struct {
	cut     int           // requests in flight at the kill that got no answer
	refused int           // requests sent after the kill, before the load stopped (refused, cancelled)
	down    time.Duration // from the kill to the new process listening
}

// killRestart runs the demo of fw with args, drives the load against it
// for restartLoad, kills it with SIGKILL while the requests run, starts it
// again on the same port with the same args, and returns the driver's
// result, whose final check ran against the new process. It fails the
// test if a request failed before the kill or against the new process, if
// no request failed at the kill (it missed the load), or if the old process
// did not die of the SIGKILL.
func killRestart(t *testing.T, fw string, args []string) (*Result, killReport) {
	t.Helper()
	bin := binary(t, fw)
	a, err := StartDemo(bin, args...)
	require.NoError(t, err)
	t.Cleanup(func() {
		a.Kill()
		checkLog(t, a)
	})
	u, err := url.Parse(a.URL)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	load, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	rec := &recorder{}
	var (
		b           *Demo
		restartErr  error
		restartedAt time.Time
	)
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(load, Config{
			Target: a.URL, Clients: restartClients, Duration: time.Minute, Timeout: faultTimeout, Observe: rec.observe,
			BeforeCheck: func() {
				b, restartErr = startOn(bin, u.Host, args)
				restartedAt = time.Now()
			},
		})
		done <- ran{res, err}
	}()
	time.Sleep(restartLoad)
	killedAt := time.Now()
	a.Kill() // SIGKILL, and reaped
	stopLoad()
	r := <-done
	require.NoError(t, r.err)
	require.NoError(t, restartErr, "restarting on %s", u.Host)
	t.Cleanup(func() {
		assert.NoError(t, b.Stop(20*time.Second), "the restarted demo did not exit cleanly on SIGTERM")
		checkLog(t, b)
		if t.Failed() {
			t.Logf("log of the killed demo:\n%s\nlog of the restarted demo:\n%s", truncate(a.Log(), 4000), truncate(b.Log(), 4000))
		}
	})
	require.ErrorContains(t, a.Wait(time.Second), "signal: killed", "the demo did not die of the SIGKILL")
	res := r.res

	k := killReport{down: restartedAt.Sub(killedAt)}
	for _, e := range rec.all() {
		end := e.Start.Add(e.Latency)
		switch {
		case e.Start.After(restartedAt):
			assert.NoError(t, e.Err, "%s through the restarted demo failed", e.Op)
		case end.Before(killedAt):
			assert.NoError(t, e.Err, "%s failed before the kill", e.Op)
		case e.Err != nil:
			if e.Start.Before(killedAt) {
				k.cut++
			} else {
				k.refused++
			}
			// A 2xx whose body the kill cut is a connection error too.
			assert.Less(t, e.Status, 300, "%s at the kill failed with a status, want a connection error: %v", e.Op, e.Err)
		}
	}
	// Whether a request is in flight at the very moment of the kill
	// depends on timing (the race-instrumented clients are slower than a
	// demo on the memory store); a request failing after it shows that
	// the clients were still at work.
	assert.Positive(t, k.cut+k.refused, "no request failed at the kill: it did not hit the load in the middle")
	noIDsLogged(t, a, res.SessionIDs)
	noIDsLogged(t, b, res.SessionIDs)
	return res, k
}

// startOn starts the demo binary bin with args on host (127.0.0.1:port),
// retrying for up to 10 s while the port of a process just stopped is not
// free yet.
func startOn(bin, host string, args []string) (*Demo, error) {
	args = append([]string{"-addr", host}, args...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := StartDemo(bin, args...)
		if err == nil || time.Now().After(deadline) {
			return d, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
