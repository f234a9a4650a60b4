package otelsession_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
	otelsession "github.com/sessionkit/sessionkit/otel"
)

// rig is an Observer whose metrics go to a ManualReader and whose spans
// go to an in-memory exporter, and a Manager that reports to it.
type rig struct {
	t      *testing.T
	reader *sdkmetric.ManualReader
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	obs    *otelsession.Observer
	m      *session.Manager
}

// newRig builds a rig whose Manager has opts; its Observer is named
// "login".
func newRig(t *testing.T, opts ...session.Option) *rig {
	t.Helper()
	r := &rig{t: t, reader: sdkmetric.NewManualReader(), spans: tracetest.NewInMemoryExporter()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	t.Cleanup(func() {
		require.NoError(t, mp.Shutdown(context.Background()))
		require.NoError(t, r.tp.Shutdown(context.Background()))
	})
	obs, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithTracerProvider(r.tp),
		otelsession.WithName("login"))
	require.NoError(t, err)
	r.obs = obs
	m, err := session.NewManager(append([]session.Option{session.WithObserver(obs)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	r.m = m
	return r
}

// client is a browser-like peer that keeps its cookie.
type client struct {
	cookie string
	ctx    context.Context // nil: context.Background()
}

func (c *client) exchange() *sessiontest.Exchange {
	x := &sessiontest.Exchange{IP: "192.0.2.7", Headers: map[string]string{"User-Agent": "otel-test/1.0"}, Ctx: c.ctx}
	if c.cookie != "" {
		x.CookieMap = map[string][]string{session.DefaultCookieName: {c.cookie}}
	}
	return x
}

// keep takes the cookie the response set, if any.
func (c *client) keep(x *sessiontest.Exchange) {
	if ck := x.LastCookie(); ck != nil {
		if ck.MaxAge < 0 {
			c.cookie = ""
		} else {
			c.cookie = ck.Value
		}
	}
}

// request runs fn as a handler would and commits; it fails the test on
// any error.
func (r *rig) request(c *client, fn func(s *session.Session)) {
	r.t.Helper()
	x := c.exchange()
	h := testenv.Begin(r.m, x)
	s, err := h.Session()
	require.NoError(r.t, err)
	fn(s)
	require.NoError(r.t, h.Commit())
	c.keep(x)
}

// figures collects the metrics and returns every data point as
// "name{k=v,...}" → value: the counter's sum, or a histogram's count
// (with a "#count" suffix) and sum ("#sum"). Attributes are sorted, so the
// keys are stable.
func (r *rig) figures() want {
	r.t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(r.t, r.reader.Collect(context.Background(), &rm))
	out := want{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(r.t, otelsession.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				require.True(r.t, d.IsMonotonic, m.Name)
				for _, p := range d.DataPoints {
					out[m.Name+label(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					require.Equal(r.t, []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, p.Bounds, m.Name)
					out[m.Name+label(p.Attributes)+"#count"] = float64(p.Count)
					out[m.Name+label(p.Attributes)+"#sum"] = p.Sum
				}
			default:
				require.FailNowf(r.t, "unexpected metric data", "metric %s has unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// counts is figures without the histogram sums, which vary from run to
// run.
func (r *rig) counts() want {
	f := r.figures()
	for k := range f {
		if strings.HasSuffix(k, "#sum") {
			delete(f, k)
		}
	}
	return f
}

func label(set attribute.Set) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		parts = append(parts, fmt.Sprintf("%s=%s", kv.Key, kv.Value.Emit()))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// call returns the keys of a store call's counter and histogram count.
func call(op, outcome string) (calls, count string) {
	l := "{manager=login,op=" + op + ",outcome=" + outcome + "}"
	return otelsession.MetricCalls + l, otelsession.MetricDuration + l + "#count"
}

// failedCall is call for a failure of the given kind.
func failedCall(op, kind string) (calls, count string) {
	l := "{error.type=" + kind + ",manager=login,op=" + op + ",outcome=error}"
	return otelsession.MetricCalls + l, otelsession.MetricDuration + l + "#count"
}

// want builds the expected figures: every store call given as op/outcome
// pairs counted in both the counter and the histogram, plus the other
// series given.
type want map[string]float64

func (w want) calls(n float64, op, outcome string) want {
	c, h := call(op, outcome)
	w[c] += n
	w[h] += n
	return w
}

func (w want) failed(n float64, op, kind string) want {
	c, h := failedCall(op, kind)
	w[c] += n
	w[h] += n
	return w
}

// stallingStore wraps a store and, while stalled, makes every call wait
// for its context to end and return the context's error, as a network
// client does against a server that stopped answering.
type stallingStore struct {
	session.VersionedStore
	mu      sync.Mutex
	stalled bool
	// err, when set, is returned instead of the context's error once the
	// context ends (a client that reports its own error), or at once when
	// the store is not stalled (a client whose own deadline came first).
	err error
}

func (s *stallingStore) stall(on bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalled, s.err = on, err
}

func (s *stallingStore) wait(ctx context.Context) error {
	s.mu.Lock()
	stalled, err := s.stalled, s.err
	s.mu.Unlock()
	if !stalled {
		return err
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		return fmt.Errorf("stallingStore: the context never ended")
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

func (s *stallingStore) GetVersion(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := s.wait(ctx); err != nil {
		return nil, 0, err
	}
	return s.VersionedStore.GetVersion(ctx, key)
}

func (s *stallingStore) SetVersion(ctx context.Context, key string, data []byte, exp time.Time, v uint64) (uint64, error) {
	if err := s.wait(ctx); err != nil {
		return 0, err
	}
	return s.VersionedStore.SetVersion(ctx, key, data, exp, v)
}
