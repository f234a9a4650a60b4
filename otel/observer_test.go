package otelsession_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	otelsession "github.com/sessionkit/sessionkit/otel"
)

const (
	loadsFound   = otelsession.MetricLoads + "{manager=login,result=found}"
	loadsNew     = otelsession.MetricLoads + "{manager=login,result=new}"
	loadsFailed  = otelsession.MetricLoads + "{manager=login,result=failed}"
	commitsOK    = otelsession.MetricCommits + "{manager=login,result=written}"
	commitsFail  = otelsession.MetricCommits + "{manager=login,result=failed}"
	conflicts    = otelsession.MetricConflicts + "{manager=login}"
	created      = otelsession.MetricCreated + "{manager=login}"
	destroyed    = otelsession.MetricDestroyed + "{manager=login}"
	storeTimeout = 30 * time.Millisecond
)

func TestLoadsCommitsCreationsAndDestructionsAreCounted(t *testing.T) {
	r := newRig(t)
	c := &client{}
	r.request(c, func(s *session.Session) { require.NoError(t, s.Set("user", "ann")) })
	r.request(c, func(s *session.Session) { assert.Equal(t, "ann", s.Get("user")) })
	old := c.cookie
	r.request(c, func(s *session.Session) { s.Destroy() })
	// The destroyed session's cookie finds nothing: a not-found answer
	// and a new session, which, untouched, is not stored.
	gone := &client{cookie: old}
	r.request(gone, func(s *session.Session) { assert.True(t, s.IsNew()) })

	assert.Equal(t, want{
		loadsNew: 2, loadsFound: 2,
		created: 1, commitsOK: 1, destroyed: 1,
	}.calls(2, "set_version", "ok").calls(2, "get", "ok").calls(1, "get", "not_found"), r.counts())
}

func TestConflictsCountCompareAndSwapRetries(t *testing.T) {
	r := newRig(t)
	c := &client{}
	r.request(c, func(s *session.Session) { s.Incr("views", 1) })

	// Two requests race on one session: the first loads, the second
	// loads and commits, then the first commits, loses the
	// compare-and-swap, re-reads and merges.
	x := c.exchange()
	h := testenv.Begin(r.m, x)
	s, err := h.Session()
	require.NoError(t, err)
	r.request(c, func(s *session.Session) { s.Incr("views", 1) })
	s.Incr("views", 1)
	require.NoError(t, h.Commit())
	r.request(c, func(s *session.Session) { assert.Equal(t, 3, s.Get("views")) })

	assert.Equal(t, want{
		loadsNew: 1, loadsFound: 3,
		created: 1, commitsOK: 3, conflicts: 1,
	}.calls(3, "set_version", "ok").calls(1, "set_version", "conflict").calls(4, "get", "ok"), r.counts())
}

func TestConcurrentWritersCountEveryRetry(t *testing.T) {
	r := newRig(t)
	c := &client{}
	r.request(c, func(s *session.Session) { s.Incr("views", 1) })
	const n = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			x := c.exchange()
			h := testenv.Begin(r.m, x)
			s, err := h.Session()
			assert.NoError(t, err)
			<-start // every request has loaded before any commits
			s.Incr("views", 1)
			assert.NoError(t, h.Commit())
		})
	}
	// Each goroutine loads before it waits: wait for all n loads.
	require.Eventually(t, func() bool { return r.counts()[loadsFound] == n }, 5*time.Second, time.Millisecond)
	close(start)
	wg.Wait()
	r.request(c, func(s *session.Session) { assert.Equal(t, n+1, s.Get("views")) })

	f := r.counts()
	cas, _ := call("set_version", "conflict")
	assert.Positive(t, f[conflicts], "n requests that all loaded first must collide")
	assert.Equal(t, f[cas], f[conflicts], "every conflict answer was retried")
	assert.Equal(t, float64(n+1), f[commitsOK])
	assert.Zero(t, f[commitsFail])
}

func TestStoreErrorsAreClassifiedByKind(t *testing.T) {
	t.Run("other", func(t *testing.T) {
		mem := testenv.MemoryStore(t)
		t.Cleanup(func() { mem.Close() })
		fail := testenv.NewFailingStore(mem)
		r := newRig(t, session.WithStore(fail))
		c := &client{}
		r.request(c, func(s *session.Session) { s.Incr("views", 1) })

		// The load fails.
		fail.SetDown(true)
		_, err := testenv.Begin(r.m, c.exchange()).Session()
		require.ErrorIs(t, err, session.ErrStore)

		// The load succeeds and the commit fails.
		fail.SetDown(false)
		h := testenv.Begin(r.m, c.exchange())
		s, err := h.Session()
		require.NoError(t, err)
		s.Incr("views", 1)
		fail.SetDown(true)
		require.ErrorIs(t, h.Commit(), session.ErrStore)

		assert.Equal(t, want{
			loadsNew: 1, loadsFound: 1, loadsFailed: 1,
			created: 1, commitsOK: 1, commitsFail: 1,
		}.calls(1, "set_version", "ok").calls(1, "get", "ok").
			failed(1, "get", "other").failed(1, "set_version", "other"), r.counts())
	})

	// A store that stalls past WithStoreTimeout: the Manager gives up and
	// the call counts as a timeout, whether the store returns the
	// context's error or any error of its own once the deadline has
	// passed. A client's own timeout error counts as one too, even when
	// it comes before the Manager's deadline.
	for name, tc := range map[string]struct {
		stall bool
		err   error
	}{
		"context deadline":     {true, nil},
		"error after deadline": {true, errors.New("connection reset by peer")},
		"client's own timeout": {false, netTimeout{}},
	} {
		t.Run(name, func(t *testing.T) {
			st := &stallingStore{VersionedStore: testenv.MemoryStore(t)}
			r := newRig(t, session.WithStore(st), session.WithStoreTimeout(storeTimeout))
			c := &client{}
			r.request(c, func(s *session.Session) { s.Incr("views", 1) })
			st.stall(tc.stall, tc.err)
			began := time.Now()
			_, err := testenv.Begin(r.m, c.exchange()).Session()
			require.ErrorIs(t, err, session.ErrStore)
			if tc.stall {
				require.GreaterOrEqual(t, time.Since(began), storeTimeout)
			}

			f := r.figures()
			calls, count := failedCall("get", "timeout")
			assert.Equal(t, 1.0, f[calls])
			assert.Equal(t, 1.0, f[count])
			if tc.stall {
				assert.GreaterOrEqual(t, f[strings.TrimSuffix(count, "#count")+"#sum"], storeTimeout.Seconds(),
					"the histogram holds the time the call took")
			}
			assert.Equal(t, 1.0, f[loadsFailed])
		})
	}

	t.Run("canceled", func(t *testing.T) {
		st := &stallingStore{VersionedStore: testenv.MemoryStore(t)}
		r := newRig(t, session.WithStore(st), session.WithStoreTimeout(10*time.Second))
		c := &client{}
		r.request(c, func(s *session.Session) { s.Incr("views", 1) })
		st.stall(true, nil)
		// The client goes away while the store stalls.
		ctx, cancel := context.WithCancel(context.Background())
		c.ctx = ctx
		time.AfterFunc(storeTimeout, cancel)
		_, err := testenv.Begin(r.m, c.exchange()).Session()
		require.ErrorIs(t, err, context.Canceled)

		f := r.counts()
		calls, _ := failedCall("get", "canceled")
		assert.Equal(t, 1.0, f[calls])
		assert.Equal(t, 1.0, f[loadsFailed])
	})
}

// netTimeout is an error of a network client that reports a timeout
// without wrapping context.DeadlineExceeded.
type netTimeout struct{}

func (netTimeout) Error() string { return "read tcp: i/o timeout" }
func (netTimeout) Timeout() bool { return true }

func TestEveryStoreCallIsCountedByOp(t *testing.T) {
	r := newRig(t) // MemoryStore: versioned, lists, indexes owners
	ctx := context.Background()
	c := &client{}
	r.request(c, func(s *session.Session) { s.SetOwner("ann") }) // add_owner, set_version
	list, err := r.m.Sessions(ctx, "ann")                        // owned, get
	require.NoError(t, err)
	require.Len(t, list, 1)
	r.request(c, func(s *session.Session) { s.Destroy() }) // get, set_version
	list, err = r.m.Sessions(ctx, "ann")                   // owned, get not found, remove_owner
	require.NoError(t, err)
	require.Empty(t, list)
	n, err := r.m.DestroyMatching(ctx, func(session.Record) bool { return true }) // range
	require.NoError(t, err)
	require.Zero(t, n)

	// A Store without versions is written with set and delete.
	plain, err := session.NewManager(session.WithObserver(r.obs),
		session.WithStore(testenv.NewPlainStore(testenv.MemoryStore(t))))
	require.NoError(t, err)
	r.m = plain
	c = &client{}
	r.request(c, func(s *session.Session) { s.Incr("views", 1) }) // set
	r.request(c, func(s *session.Session) { s.Destroy() })        // get, delete

	assert.Equal(t, want{
		loadsNew: 2, loadsFound: 2,
		created: 2, commitsOK: 2, destroyed: 2,
	}.calls(1, "add_owner", "ok").calls(2, "set_version", "ok").calls(2, "owned", "ok").
		calls(3, "get", "ok").calls(1, "get", "not_found").calls(1, "remove_owner", "ok").
		calls(1, "range", "ok").calls(1, "set", "ok").calls(1, "delete", "ok"), r.counts())
}

func TestStoreCallsAreClientSpansUnderTheRequestsSpan(t *testing.T) {
	mem := testenv.MemoryStore(t)
	t.Cleanup(func() { mem.Close() })
	seen := &ctxStore{FailingStore: testenv.NewFailingStore(mem)}
	r := newRig(t, session.WithStore(seen))
	tracer := r.tp.Tracer("test")

	// A request traced by the application (otelhttp, say).
	ctx, req := tracer.Start(context.Background(), "GET /")
	c := &client{ctx: ctx}
	r.request(c, func(s *session.Session) { s.Incr("views", 1) })
	req.End()
	stubs := r.spans.GetSpans()
	r.spans.Reset()
	require.Len(t, stubs, 2)
	store, parent := stubs[0], stubs[1]
	assert.Equal(t, "sessionkit.store set_version", store.Name)
	assert.Equal(t, trace.SpanKindClient, store.SpanKind)
	assert.Equal(t, req.SpanContext(), store.Parent, "the store call's span is a child of the request's")
	assert.Equal(t, store.SpanContext, seen.last(), "the store gets the context carrying the span")
	assert.ElementsMatch(t, []attribute.KeyValue{
		otelsession.AttrOp.String("set_version"), otelsession.AttrManager.String("login"),
		otelsession.AttrOutcome.String("ok"),
	}, store.Attributes)
	assert.Equal(t, codes.Unset, store.Status.Code)
	var events []string
	for _, e := range parent.Events {
		events = append(events, e.Name)
	}
	assert.Equal(t, []string{"sessionkit.session loaded_new", "sessionkit.session created", "sessionkit.session committed"},
		events, "session events are noted on the request's span")

	// Not found is an answer, not an error.
	stale := &client{cookie: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	r.request(stale, func(*session.Session) {})
	stubs = r.spans.GetSpans()
	r.spans.Reset()
	require.Len(t, stubs, 1)
	assert.Equal(t, "sessionkit.store get", stubs[0].Name)
	assert.Contains(t, stubs[0].Attributes, otelsession.AttrOutcome.String("not_found"))
	assert.Equal(t, codes.Unset, stubs[0].Status.Code)

	// A failure sets the span's error status, with the store's error.
	seen.SetDown(true)
	_, err := testenv.Begin(r.m, c.exchange()).Session()
	require.Error(t, err)
	stubs = r.spans.GetSpans()
	require.Len(t, stubs, 1)
	assert.Equal(t, "sessionkit.store get", stubs[0].Name)
	assert.Equal(t, codes.Error, stubs[0].Status.Code)
	assert.Equal(t, testenv.ErrDown.Error(), stubs[0].Status.Description)
	assert.Subset(t, stubs[0].Attributes, []attribute.KeyValue{
		otelsession.AttrOutcome.String("error"), otelsession.AttrErrorType.String("other"),
	})
}

// ctxStore remembers the span context of the last write it got.
type ctxStore struct {
	*testenv.FailingStore
	mu sync.Mutex
	sc trace.SpanContext
}

func (s *ctxStore) SetVersion(ctx context.Context, key string, data []byte, exp time.Time, v uint64) (uint64, error) {
	s.mu.Lock()
	s.sc = trace.SpanContextFromContext(ctx)
	s.mu.Unlock()
	return s.FailingStore.SetVersion(ctx, key, data, exp, v)
}

func (s *ctxStore) last() trace.SpanContext {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sc
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	for name, opt := range map[string]otelsession.Option{
		"nil MeterProvider":  otelsession.WithMeterProvider(nil),
		"nil TracerProvider": otelsession.WithTracerProvider(nil),
		"empty name":         otelsession.WithName(""),
	} {
		t.Run(name, func(t *testing.T) {
			o, err := otelsession.New(opt)
			require.ErrorContains(t, err, "otelsession: invalid configuration")
			require.Nil(t, o)
		})
	}
}

// TestNewDefaultsToTheGlobalProviders sets the global providers, which
// cannot be unset: no other test may rely on them, nor run in parallel.
func TestNewDefaultsToTheGlobalProviders(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	otel.SetMeterProvider(mp)
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { // later users of the globals get noops
		require.NoError(t, mp.Shutdown(context.Background()))
		require.NoError(t, tp.Shutdown(context.Background()))
	})

	obs, err := otelsession.New() // no name: no manager attribute
	require.NoError(t, err)
	m, err := session.NewManager(session.WithObserver(obs))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	x := &sessiontest.Exchange{}
	h := testenv.Begin(m, x)
	s, err := h.Session()
	require.NoError(t, err)
	s.Incr("views", 1)
	require.NoError(t, h.Commit())

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	var names []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		names = append(names, m.Name)
		if m.Name == otelsession.MetricCreated {
			p := m.Data.(metricdata.Sum[int64]).DataPoints
			require.Len(t, p, 1)
			assert.Equal(t, int64(1), p[0].Value)
			assert.Equal(t, 0, p[0].Attributes.Len(), "no manager attribute without WithName")
		}
	}
	assert.ElementsMatch(t, []string{otelsession.MetricLoads, otelsession.MetricCreated, otelsession.MetricCommits,
		otelsession.MetricCalls, otelsession.MetricDuration}, names)
	stubs := spans.GetSpans()
	require.Len(t, stubs, 1)
	assert.Equal(t, "sessionkit.store set_version", stubs[0].Name)
}

func TestANoopTracerProviderStartsNoSpans(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	obs, err := otelsession.New(otelsession.WithTracerProvider(noop.NewTracerProvider()),
		otelsession.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	require.NoError(t, err)
	ctx := context.Background()
	got, done := obs.StoreCall(ctx, "get")
	assert.Equal(t, ctx, got, "no span, so the call keeps the caller's context")
	done(session.ErrNotFound)

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	require.Len(t, rm.ScopeMetrics, 1)
	require.Len(t, rm.ScopeMetrics[0].Metrics, 2, "the call is counted all the same")
}

// A record that cannot be decoded counts as a failed load and, apart, as
// a corrupt record, which store-call metrics cannot show.
func TestCorruptRecordsAreCountedApart(t *testing.T) {
	mem := testenv.MemoryStore(t)
	t.Cleanup(func() { mem.Close() })
	r := newRig(t, session.WithStore(mem))
	c := &client{}
	r.request(c, func(s *session.Session) { s.Incr("views", 1) })
	key := session.FingerprintIDIPUserAgent(c.cookie, c.exchange())
	require.NoError(t, mem.Set(context.Background(), key, []byte("not a record"), time.Now().Add(time.Hour)))
	_, err := testenv.Begin(r.m, c.exchange()).Session()
	require.ErrorIs(t, err, session.ErrCorrupt)
	got := r.counts()
	assert.Equal(t, float64(1), got[otelsession.MetricCorrupt+"{manager=login}"])
	assert.Equal(t, float64(1), got[loadsFailed])
	assert.Equal(t, float64(0), got[otelsession.MetricCalls+"{error.type=other,manager=login,op=get,outcome=error}"], "the store call itself succeeded")
}
