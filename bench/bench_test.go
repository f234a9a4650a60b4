package bench

import (
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// BenchmarkSessions runs every scenario on every subject, serially and
// under b.RunParallel (the Redis rows serially only). Names read
// framework/lib.store/scenario/mode.
//
// Every run builds its subject afresh, so no row inherits the sessions an
// earlier one stored (the new scenario stores one per request, and a big
// live heap would slow every later row's garbage collection).
func BenchmarkSessions(b *testing.B) {
	for i := range subjects {
		s := &subjects[i]
		b.Run(s.name(), func(b *testing.B) {
			for _, sc := range scenarios {
				b.Run(sc.name+"/serial", func(b *testing.B) { runSerial(b, s.build(b), sc) })
				if !s.redis() {
					b.Run(sc.name+"/parallel", func(b *testing.B) { runParallel(b, s.build(b), sc) })
				}
			}
		})
	}
}

func runSerial(b *testing.B, t *target, sc *scenario) {
	d, err := t.newDriver(sc)
	require.NoError(b, err)
	require.NoError(b, d.step()) // warm up, and fail before timing
	m := startMeasure(b, t)
	for range b.N {
		// require only on failure: its bookkeeping would be measured.
		if err := d.step(); err != nil {
			require.NoError(b, err)
		}
	}
	m.stop(b)
}

// runParallel gives each goroutine of b.RunParallel a driver of its own
// (and so, for write, a session of its own; read shares one hot session).
func runParallel(b *testing.B, t *target, sc *scenario) {
	drivers := make([]*driver, runtime.GOMAXPROCS(0)) // RunParallel's goroutines
	for i := range drivers {
		d, err := t.newDriver(sc)
		require.NoError(b, err)
		require.NoError(b, d.step())
		drivers[i] = d
	}
	var (
		next     atomic.Int32
		failOnce sync.Once
		failure  error
	)
	m := startMeasure(b, t)
	b.RunParallel(func(pb *testing.PB) {
		d := drivers[int(next.Add(1)-1)%len(drivers)]
		for pb.Next() {
			if err := d.step(); err != nil {
				failOnce.Do(func() { failure = err })
				return
			}
		}
	})
	require.NoError(b, failure)
	m.stop(b)
}

// measure takes what the benchmark reports beyond time and allocations:
// process CPU time per request (cpu-ns/op) and, for the Redis rows,
// commands and round trips per request (cmds/op, rt/op) and the time per
// request spent inside the round trips (rt-ns/op). A serial row's time
// outside its round trips is work on the CPU: nothing else waits.
type measure struct {
	t                     *target
	cmds, trips, tripTime int64
	cpu                   time.Duration
}

func startMeasure(b *testing.B, t *target) measure {
	m := measure{t: t, cpu: cpuTime()}
	if r := t.redis; r != nil {
		m.cmds, m.trips, m.tripTime = r.cmds(), r.trips(), r.tripTime.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	return m
}

func (m measure) stop(b *testing.B) {
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(cpuTime()-m.cpu)/n, "cpu-ns/op")
	if r := m.t.redis; r != nil {
		b.ReportMetric(float64(r.cmds()-m.cmds)/n, "cmds/op")
		b.ReportMetric(float64(r.trips()-m.trips)/n, "rt/op")
		b.ReportMetric(float64(r.tripTime.Load()-m.tripTime)/n, "rt-ns/op")
	}
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestHarness runs every scenario of every subject a few times, serially
// and from two goroutines at once, and checks every response: it is what
// makes the benchmark's numbers mean something.
func TestHarness(t *testing.T) {
	for i := range subjects {
		s := &subjects[i]
		t.Run(s.name(), func(t *testing.T) {
			tg := s.build(t)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					for range 2 { // two clients in turn: write uses one session each
						d, err := tg.newDriver(sc)
						require.NoError(t, err)
						for range 5 {
							require.NoError(t, d.step())
						}
					}
					var wg sync.WaitGroup
					for range 2 {
						d, err := tg.newDriver(sc)
						require.NoError(t, err)
						wg.Go(func() {
							for range 20 {
								if !assert.NoError(t, d.step()) { // not require: not the test's goroutine
									return
								}
							}
						})
					}
					wg.Wait()
				})
			}
			if tg.redis != nil {
				t.Run("meter", func(t *testing.T) { checkMeter(t, tg) })
			}
		})
	}
}

// checkMeter makes sure a Redis subject's counts are live, so that a row
// reporting 0 commands means no command: a read sends at least one
// command in one round trip, and so does a bare round trip.
func checkMeter(t *testing.T, tg *target) {
	var read *scenario
	for _, sc := range scenarios {
		if sc.kind == kindRead {
			read = sc
		}
	}
	d, err := tg.newDriver(read)
	require.NoError(t, err)
	for name, step := range map[string]func() error{"read": d.step, "round trip": tg.redis.roundTrip} {
		c0, r0 := tg.redis.cmds(), tg.redis.trips()
		require.NoError(t, step(), name)
		assert.GreaterOrEqual(t, tg.redis.cmds()-c0, int64(1), "%s: commands counted", name)
		assert.GreaterOrEqual(t, tg.redis.trips()-r0, int64(1), "%s: round trips counted", name)
	}
}

// TestHarnessCatchesLies shows that the checks bite: a handler that skips
// the session work and answers plausible constants fails every scenario.
func TestHarnessCatchesLies(t *testing.T) {
	mux := nethttpMux(func(sc *scenario) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "liar", Value: "x"})
			switch sc.kind {
			case kindUntouched:
				w.Write(okBody) // but it set a cookie
			case kindRead:
				nethttpRespond(w, seeded-1, true)
			case kindWrite:
				nethttpRespond(w, seeded+1, true) // the same value every time
			case kindNew:
				w.Header().Del("Set-Cookie")
				nethttpRespond(w, 1, true)
			default:
				nethttpRespond(w, seeded, true)
			}
		}
	})
	tg := nethttpTarget(mux, "liar", nil, false)
	for _, sc := range scenarios {
		d, err := tg.newDriver(sc)
		require.NoError(t, err)
		var failed error
		for range 3 {
			if failed = d.step(); failed != nil {
				break
			}
		}
		if assert.Error(t, failed, "%s: the harness accepted a handler that does no session work", sc.name) {
			t.Logf("%s: caught: %v", sc.name, failed)
		}
	}
}

// TestFiberClientEndsEachRequestsValues: the in-process fiber client drops
// a request's values (c.Locals), closing them, when the request is done,
// as fasthttp's server does after the response. Under fasthttp v1.51 they
// lived on until the next request: fiber v2's session found the last ID
// there and loaded that session on every new request.
func TestFiberClientEndsEachRequestsValues(t *testing.T) {
	closed := 0
	apps := map[string]fasthttp.RequestHandler{}
	v2 := fiber.New(fiber.Config{DisableStartupMessage: true})
	v2.Get("/", func(c *fiber.Ctx) error {
		if c.Locals("value") != nil {
			return c.Status(http.StatusConflict).SendString("the last request's value")
		}
		c.Locals("value", countCloser{&closed})
		return c.SendString("ok")
	})
	apps["fiber"] = v2.Handler()
	v3 := fiberv3.New()
	v3.Get("/", func(c fiberv3.Ctx) error {
		if c.Locals("value") != nil {
			return c.Status(http.StatusConflict).SendString("the last request's value")
		}
		c.Locals("value", countCloser{&closed})
		return c.SendString("ok")
	})
	apps["fiberv3"] = v3.Handler()
	for name, h := range apps {
		closed = 0
		c := newFiberClient(h, "", "/")
		for i := 1; i <= 3; i++ {
			status, body, _ := c.do()
			require.Equal(t, http.StatusOK, status, "%s: %s", name, body)
			require.Equal(t, i, closed, "%s: the request's values were not closed when it was done", name)
		}
	}
}
