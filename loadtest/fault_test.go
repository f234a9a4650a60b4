package loadtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fault-test timing: load before the fault, the outage, the load after.
const (
	faultClients   = 8
	faultBefore    = 700 * time.Millisecond
	faultAfter     = 1500 * time.Millisecond
	faultTimeout   = 10 * time.Second // the clients' request timeout
	faultPromptly  = 5 * time.Second  // every answer must come within this
	recoveryBudget = 10 * time.Second
)

// recorder keeps every request a Run made, for the fault tests.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) observe(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// outageReport is what the fault tests measured.
type outageReport struct {
	before, during, after int           // requests done before the fault, hit by it, started after it
	outageErrors          int           // failed requests (all hit by the fault or before the recovery)
	afterErrors           int           // failed requests started after the recovery
	lastErr               time.Time     // when the last failed request ended
	recovery              time.Duration // from the restore to the first success
	full                  time.Duration // from the restore to the end of the last failure
	slowest               time.Duration
}

func (o outageReport) String() string {
	return fmt.Sprintf("requests done before/hit by/started after the outage: %d/%d/%d, outage errors %d (all 500), errors after recovery %d, first success %v after the store was back, last failure %v after, slowest answer %v",
		o.before, o.during, o.after, o.outageErrors, o.afterErrors, o.recovery.Round(time.Millisecond), o.full.Round(time.Millisecond), o.slowest.Round(time.Millisecond))
}

// leakWords are words an error body must not hold: internals of the
// store and its failure.
var leakWords = []string{"redis", "postgres", "pgx", "dial", "refused", "eof", "127.0.0.1", "connection", "store", "session", "sql"}

// faultLoad runs the load driver against d while cut() makes the store
// fail and restore() brings it back, and checks that requests failed
// cleanly during the outage and that the service came back without a
// restart: every failure during the outage is a prompt 500 without
// internal detail, nothing hangs, the demo's process lives on, service
// resumes, and after the final check nothing acknowledged is lost and
// nothing leaked.
func faultLoad(t *testing.T, d *Demo, outage time.Duration, cut, restore func()) (outageReport, *Result) {
	t.Helper()
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type ran struct {
		res *Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(ctx, Config{
			Target: d.URL, Clients: faultClients, Duration: faultBefore + outage + faultAfter,
			Timeout: faultTimeout, ReadWriteOnly: true, Observe: rec.observe,
		})
		done <- ran{res, err}
	}()
	pid := d.PID()
	time.Sleep(faultBefore)
	cutAt := time.Now()
	cut()
	time.Sleep(outage)
	restore()
	restoreAt := time.Now() // the store answers again
	r := <-done
	require.NoError(t, r.err)
	res := r.res

	var o outageReport
	var firstOK time.Time
	for _, e := range rec.all() {
		o.slowest = max(o.slowest, e.Latency)
		assert.LessOrEqual(t, e.Latency, faultPromptly, "%s took too long, want an answer within %v (the client gives up at %v): %v", e.Op, faultPromptly, faultTimeout, e.Err)
		switch {
		case e.Start.Add(e.Latency).Before(cutAt):
			o.before++
			assert.NoError(t, e.Err, "%s failed before the fault", e.Op)
		case e.Start.Before(restoreAt):
			o.during++
		default:
			o.after++
			if e.Err == nil && (firstOK.IsZero() || e.Start.Add(e.Latency).Before(firstOK)) {
				firstOK = e.Start.Add(e.Latency)
			}
		}
		if e.Err != nil {
			o.outageErrors++
			if end := e.Start.Add(e.Latency); end.After(o.lastErr) {
				o.lastErr = end
			}
			assert.Equal(t, 500, e.Status, "%s failed with %v, want a 500 answer", e.Op, e.Err)
			low := strings.ToLower(e.Body)
			for _, w := range leakWords {
				assert.NotContains(t, low, w, "%s answered %q, which reveals internals", e.Op, e.Body)
			}
		}
	}
	require.False(t, firstOK.IsZero(), "no request succeeded after the store came back: %s\n%s", res, strings.Join(res.Problems, "\n"))
	o.recovery = firstOK.Sub(restoreAt)
	o.full = max(o.lastErr.Sub(restoreAt), o.recovery)
	settled := firstOK.Add(time.Second) // in-flight retries of the outage may still end
	for _, e := range rec.all() {
		if e.Start.After(settled) && !assert.NoError(t, e.Err, "%s failed after the recovery", e.Op) {
			o.afterErrors++
		}
	}
	assert.LessOrEqual(t, o.recovery, recoveryBudget, "service came back too long after the store")
	assert.True(t, o.outageErrors > 0 && o.during > 0, "the outage failed no request (%d made during it): the fault was not injected", o.during)
	assert.Zero(t, res.Lost, "%s\n%s", res, strings.Join(res.Problems, "\n"))
	assert.Zero(t, res.Leaks, "%s\n%s", res, strings.Join(res.Problems, "\n"))
	assert.Positive(t, res.WritesChecked, "the final check verified no write: %s", res)
	select {
	case <-d.Exited():
		require.Failf(t, "the demo died during the outage", "log:\n%s", d.Log())
	default:
	}
	require.Equal(t, pid, d.PID(), "the demo was restarted")
	assert.Contains(t, d.Log(), "level=ERROR", "the store failure was not logged")
	checkLog(t, d)
	noIDsLogged(t, d, res.SessionIDs)
	return o, res
}

// TestRedisKilledUnderLoad runs each demo on a private redis-server, kills
// the server (SIGKILL) in the middle of the load and starts it again on
// the same port 2 s later (longer than go-redis' retries, which ride out a
// shorter outage). The four frameworks run in parallel: the outage leaves
// the processor idle (requests wait in go-redis' retries). Expected: during the outage requests fail
// promptly with a bare 500 through the framework's error path (no hang,
// no panic, no internal detail), the demo process survives, service
// resumes by itself after the restart, and — the server persisting every
// write before acknowledging it — no acknowledged write is lost.
func TestRedisKilledUnderLoad(t *testing.T) {
	for _, fw := range Frameworks {
		t.Run(fw, func(t *testing.T) {
			t.Parallel()
			// Every write reaches the append-only file before it is
			// acknowledged, so a kill loses nothing acknowledged.
			srv := testenv.StartRedisServer(t, "--appendonly", "yes", "--appendfsync", "always")
			d := startDemo(t, fw, "-store", "redis://"+srv.Addr()+"/0", "-lifetime", storeLifetime)
			o, res := faultLoad(t, d, 2*time.Second, srv.Kill, srv.Restart)
			t.Logf("%s, redis-server killed and restarted: %s; %s", fw, o, res)
		})
	}
}

// TestPostgresCutUnderLoad runs a net/http-based and the fasthttp-based
// demo on PostgreSQL through a TCP proxy (the shared server itself is never
// touched), cuts the proxy in the middle of the load (every connection
// dropped, new ones refused) and restores it on the same port a second later.
// Expected: the same as for Redis: prompt bare 500s during the cut, no
// restart, service back, nothing acknowledged lost.
func TestPostgresCutUnderLoad(t *testing.T) {
	for _, fw := range []string{"nethttp", "fiber"} {
		t.Run(fw, func(t *testing.T) {
			p := testenv.StartProxy(t, pgAddr)
			url, _ := pgSchema(t, p.Addr())
			d := startDemo(t, fw, "-store", url, "-lifetime", storeLifetime)
			o, res := faultLoad(t, d, time.Second, p.Cut, p.Restore)
			t.Logf("%s, PostgreSQL proxy cut and restored: %s; %s", fw, o, res)
		})
	}
}
