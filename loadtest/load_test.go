package loadtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Short-form sizes: the whole module's go test -race must finish in about
// two minutes on two cores. cmd/loadtest runs the long form.
const (
	loadClients  = 20
	loadDuration = 1500 * time.Millisecond
)

// TestLoadNothingLost runs the load driver against real demo binaries on
// the memory store, on Redis and on SQLite (a database file in the test's
// temporary directory), for every framework: 20 clients, each with its
// own cookie jar, log in, write values naming themselves, read them,
// delete some, count views, log in again and log out. Expected: every
// acknowledged write is read back (lost=0), no client ever sees another's
// user, value or cookie (leaks=0), no request fails (errors=0), and no
// session ID reaches the demo's log.
func TestLoadNothingLost(t *testing.T) {
	stores := []testStore{
		{"memory", func(testing.TB) string { return "memory" }},
		{"redis", func(testing.TB) string { return redisURL() }},
		{"sqlite", sqliteSpec},
	}
	for _, fw := range Frameworks {
		for _, st := range stores {
			t.Run(fw+"/"+st.name, func(t *testing.T) {
				d := startDemo(t, fw, storeArgs(st.spec(t))...)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				res, err := Run(ctx, Config{Target: d.URL, Clients: loadClients, Duration: loadDuration})
				require.NoError(t, err)
				t.Logf("%s %s: %s", fw, st.name, res)
				requireClean(t, res)
				assert.True(t, res.WritesChecked > 0 && res.Logins > int64(loadClients) && res.Logouts > 0,
					"the load did too little to prove anything: %s", res)
				noIDsLogged(t, d, res.SessionIDs)
			})
		}
	}
}

// TestDriverCatchesLostWrites proves that the driver's checks can fail: a
// demo whose memory store holds at most 256 sessions is flooded with
// 5,000 cookie-less requests while the clients run, so the store evicts
// the clients' sessions (the oldest, closest to expiry) under them.
// Expected: the driver reports lost writes — and still no leak, since an
// evicted session is gone, not handed to someone else.
func TestDriverCatchesLostWrites(t *testing.T) {
	d := startDemo(t, "echo", "-max-sessions", "256")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	flooded := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := Flood(ctx, d.URL, 5000, 4)
		flooded <- err
	}()
	res, err := Run(ctx, Config{Target: d.URL, Clients: 10, Duration: 1500 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, <-flooded)
	t.Logf("with the sessions evicted under the clients: %s", res)
	assert.Positive(t, res.Lost, "the driver reported no lost write although the store evicted the clients' sessions: %s", res)
	assert.True(t, res.Leaks == 0 && res.Errors == 0, "%s\n%s", res, strings.Join(res.Problems, "\n"))
}
