package otelsession_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
	otelsession "github.com/sessionkit/sessionkit/otel"
)

// benchTracers are the tracing setups a store call may meet: none, a
// sampler that drops the trace (the common case under ratio sampling) and
// one that records it.
var benchTracers = []struct {
	name string
	tp   func() trace.TracerProvider
}{
	{"untraced", func() trace.TracerProvider { return noop.NewTracerProvider() }},
	{"unsampled", func() trace.TracerProvider {
		return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	}},
	{"sampled", func() trace.TracerProvider {
		return sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	}},
}

func newBenchObserver(b *testing.B, tp trace.TracerProvider) *otelsession.Observer {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	obs, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithTracerProvider(tp),
		otelsession.WithName("login"))
	require.NoError(b, err)
	return obs
}

// BenchmarkStoreCall measures what the Observer adds to one store call:
// StoreCall and the function it returns.
func BenchmarkStoreCall(b *testing.B) {
	for _, bt := range benchTracers {
		b.Run(bt.name, func(b *testing.B) {
			obs := newBenchObserver(b, bt.tp())
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, done := obs.StoreCall(ctx, "set_version")
				done(nil)
			}
		})
	}
}

// BenchmarkEvent measures one session event, outside and inside a traced
// request.
func BenchmarkEvent(b *testing.B) {
	for _, bt := range benchTracers {
		b.Run(bt.name, func(b *testing.B) {
			tp := bt.tp()
			obs := newBenchObserver(b, tp)
			ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
			defer span.End()
			b.ReportAllocs()
			for b.Loop() {
				obs.Event(ctx, session.EventCommitted)
			}
		})
	}
}

// BenchmarkRequest measures a whole request that reads and writes its
// session (one load, one versioned commit) on a MemoryStore, without an
// Observer and with one, to put the Observer's cost in proportion.
func BenchmarkRequest(b *testing.B) {
	cases := []struct {
		name string
		obs  func(b *testing.B) session.Option
	}{
		{"no-observer", func(*testing.B) session.Option { return func(*session.Manager) error { return nil } }},
	}
	for _, bt := range benchTracers[:2] {
		cases = append(cases, struct {
			name string
			obs  func(b *testing.B) session.Option
		}{"observer-" + bt.name, func(b *testing.B) session.Option {
			return session.WithObserver(newBenchObserver(b, bt.tp()))
		}})
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			m, err := session.NewManager(bc.obs(b))
			require.NoError(b, err)
			b.Cleanup(func() { m.Close() })
			c := &client{}
			require.NoError(b, visit(m, c))
			b.ReportAllocs()
			for b.Loop() {
				// require only on failure: its bookkeeping costs about
				// 350 ns, a part of what is measured here.
				if err := visit(m, c); err != nil {
					require.NoError(b, err)
				}
			}
		})
	}
}

// visit runs a request of c that increments views, and keeps the cookie
// the response set.
func visit(m *session.Manager, c *client) error {
	x := c.exchange()
	h := testenv.Begin(m, x)
	s, err := h.Session()
	if err != nil {
		return err
	}
	s.Incr("views", 1)
	if err := h.Commit(); err != nil {
		return err
	}
	c.keep(x)
	return nil
}
