package otelsession

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	session "github.com/sessionkit/sessionkit/core"
)

// ScopeName is the instrumentation scope of the Observer's meter and
// tracer.
const ScopeName = "github.com/sessionkit/sessionkit/otel"

// The names of the metric instruments. The Prometheus exporter turns the
// dots into underscores and adds the unit and "_total" suffixes, as in
// sessionkit_session_loads_total and sessionkit_store_duration_seconds.
const (
	MetricLoads     = "sessionkit.session.loads"      // counter; attribute result: found, new, failed
	MetricCommits   = "sessionkit.session.commits"    // counter; attribute result: written, failed
	MetricConflicts = "sessionkit.session.conflicts"  // counter: compare-and-swap retries
	MetricCreated   = "sessionkit.sessions.created"   // counter: new sessions stored
	MetricDestroyed = "sessionkit.sessions.destroyed" // counter: sessions destroyed (logout, revocation)
	MetricCorrupt   = "sessionkit.session.corrupt"    // counter: stored records that could not be decoded
	MetricCalls     = "sessionkit.store.calls"        // counter; attributes op, outcome and, on errors, error.type
	MetricDuration  = "sessionkit.store.duration"     // histogram in seconds; the same attributes
)

// Attribute keys. Store-call spans carry the same ones as the store-call
// metrics.
const (
	AttrManager   = attribute.Key("manager")    // WithName, on every metric and span
	AttrResult    = attribute.Key("result")     // loads and commits
	AttrOp        = attribute.Key("op")         // store calls: get, set, set_version, delete, range, add_owner, owned, remove_owner
	AttrOutcome   = attribute.Key("outcome")    // store calls: ok, not_found, conflict, error
	AttrErrorType = attribute.Key("error.type") // store calls that failed: timeout, canceled, other
)

// durationBuckets are the store-call histogram's bucket bounds in seconds:
// from 100µs, an in-memory store or a nearby Redis, to 10s, well past any
// sensible store timeout. An sdkmetric View can replace them.
var durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Observer implements session.Observer with OpenTelemetry: it counts
// loads, commits, compare-and-swap conflicts, sessions created and
// destroyed, and store calls by op and outcome, records the latency of
// every store call, and wraps each store call in a client span. Make one
// with New and give it to session.WithObserver; it is safe for concurrent
// use. Use one Observer per Manager, each with its own WithName.
type Observer struct {
	tracer   trace.Tracer // nil: no tracing
	calls    metric.Int64Counter
	duration metric.Float64Histogram
	ops      map[string]*opInfo
	events   [numEvents]eventInfo
	attrs    []attribute.KeyValue // the manager attribute, or none
}

// An Option configures an Observer in New.
type Option func(*config) error

type config struct {
	mp   metric.MeterProvider
	tp   trace.TracerProvider
	name string
}

// WithMeterProvider sets where the metrics go. The default is the global
// MeterProvider (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		if mp == nil {
			return errors.New("otelsession: invalid configuration: nil MeterProvider")
		}
		c.mp = mp
		return nil
	}
}

// WithTracerProvider sets where the spans go. The default is the global
// TracerProvider (otel.GetTracerProvider). Give noop.NewTracerProvider()
// from go.opentelemetry.io/otel/trace/noop for metrics alone: store calls
// then start no span at all.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		if tp == nil {
			return errors.New("otelsession: invalid configuration: nil TracerProvider")
		}
		c.tp = tp
		return nil
	}
}

// WithName labels every metric and span with manager=name, to tell apart
// the Managers of one process (a login session and a preferences session,
// say) that share a MeterProvider.
func WithName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errors.New("otelsession: invalid configuration: empty name")
		}
		c.name = name
		return nil
	}
}

// New returns an Observer configured by opts. It returns an error for an
// invalid option or when the meter refuses an instrument.
func New(opts ...Option) (*Observer, error) {
	c := config{mp: otel.GetMeterProvider(), tp: otel.GetTracerProvider()}
	for _, opt := range opts {
		if err := opt(&c); err != nil {
			return nil, err
		}
	}
	o := &Observer{}
	if _, off := c.tp.(noop.TracerProvider); !off {
		// A noop tracer still wraps every call's context in a new one:
		// without tracing, skip it altogether.
		o.tracer = c.tp.Tracer(ScopeName)
	}
	if c.name != "" {
		o.attrs = []attribute.KeyValue{AttrManager.String(c.name)}
	}
	meter := c.mp.Meter(ScopeName)

	var err error
	counter := func(name, desc string) metric.Int64Counter {
		var ctr metric.Int64Counter
		if err == nil {
			ctr, err = meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit("{"+unitOf(name)+"}"))
		}
		return ctr
	}
	loads := counter(MetricLoads, "Session loads by result: found in the store, new (none found), failed (store error or corrupt record).")
	commits := counter(MetricCommits, "Commits that wrote to the store (written) or failed.")
	conflicts := counter(MetricConflicts, "Compare-and-swap writes that lost to a concurrent writer and were retried.")
	created := counter(MetricCreated, "New sessions stored.")
	destroyed := counter(MetricDestroyed, "Sessions destroyed: logouts and revocations.")
	corrupt := counter(MetricCorrupt, "Loads that found a stored record they could not decode (tampering, or a codec change).")
	o.calls = counter(MetricCalls, "Store calls by op and outcome (ok, not_found, conflict, error); failures carry error.type: timeout, canceled or other.")
	if err == nil {
		o.duration, err = meter.Float64Histogram(MetricDuration,
			metric.WithDescription("Store call latency by op and outcome."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
	}
	if err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}

	// Everything a call or an event records is computed here, once, so
	// that the request path allocates no attribute sets.
	o.ops = make(map[string]*opInfo, len(knownOps))
	for _, op := range knownOps {
		o.ops[op] = o.newOpInfo(op)
	}
	ev := func(e session.Event, ctr metric.Int64Counter, extra ...attribute.KeyValue) {
		o.events[e] = eventInfo{
			counter: ctr,
			add:     []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(append(extra, o.attrs...)...))},
			span:    "sessionkit.session " + e.String(),
		}
	}
	ev(session.EventLoaded, loads, AttrResult.String("found"))
	ev(session.EventLoadedNew, loads, AttrResult.String("new"))
	ev(session.EventLoadFailed, loads, AttrResult.String("failed"))
	ev(session.EventCommitted, commits, AttrResult.String("written"))
	ev(session.EventCommitFailed, commits, AttrResult.String("failed"))
	ev(session.EventConflict, conflicts)
	ev(session.EventCreated, created)
	ev(session.EventDestroyed, destroyed)
	ev(session.EventCorrupt, corrupt)
	return o, nil
}

// unitOf returns the annotation unit of a counter: what it counts.
func unitOf(name string) string {
	switch name {
	case MetricLoads:
		return "load"
	case MetricCommits:
		return "commit"
	case MetricConflicts:
		return "conflict"
	case MetricCalls:
		return "call"
	case MetricCorrupt:
		return "record"
	}
	return "session"
}

// knownOps are the store calls a Manager reports.
var knownOps = []string{"get", "set", "set_version", "delete", "range", "add_owner", "owned", "remove_owner"}

// The outcomes of a store call.
type outcome uint8

const (
	outcomeOK outcome = iota
	outcomeNotFound
	outcomeConflict
	outcomeTimeout // the failures start here
	outcomeCanceled
	outcomeOther
	numOutcomes
)

// opInfo is what a call of one op records, precomputed.
type opInfo struct {
	spanName string
	add      [numOutcomes][]metric.AddOption
	rec      [numOutcomes][]metric.RecordOption
	spanEnd  [numOutcomes][]attribute.KeyValue
}

// spanStart makes store-call spans client spans. Their attributes are set
// when they end, and only if they are recording: given at the start they
// would cost an allocation even in the traces a sampler drops, and the
// span's name already tells a sampler the op.
var spanStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

func (o *Observer) newOpInfo(op string) *opInfo {
	in := &opInfo{spanName: "sessionkit.store " + op}
	for oc := range numOutcomes {
		kv := append([]attribute.KeyValue{AttrOp.String(op)}, o.attrs...)
		kv = append(kv, oc.attrs()...)
		set := metric.WithAttributeSet(attribute.NewSet(kv...))
		in.add[oc] = []metric.AddOption{set}
		in.rec[oc] = []metric.RecordOption{set}
		in.spanEnd[oc] = kv
	}
	return in
}

// attrs returns the attributes that describe oc.
func (oc outcome) attrs() []attribute.KeyValue {
	switch oc {
	case outcomeOK:
		return []attribute.KeyValue{AttrOutcome.String("ok")}
	case outcomeNotFound:
		return []attribute.KeyValue{AttrOutcome.String("not_found")}
	case outcomeConflict:
		return []attribute.KeyValue{AttrOutcome.String("conflict")}
	case outcomeTimeout:
		return []attribute.KeyValue{AttrOutcome.String("error"), AttrErrorType.String("timeout")}
	case outcomeCanceled:
		return []attribute.KeyValue{AttrOutcome.String("error"), AttrErrorType.String("canceled")}
	}
	return []attribute.KeyValue{AttrOutcome.String("error"), AttrErrorType.String("other")}
}

// eventInfo is what one session event records, precomputed.
type eventInfo struct {
	counter metric.Int64Counter
	add     []metric.AddOption
	span    string // the event's name on the request's span
}

// numEvents bounds the session.Event values the Observer knows.
const numEvents = int(session.EventCorrupt) + 1

// StoreCall implements session.Observer: it starts the call's span and
// returns the function that ends it and records the call's outcome and
// latency.
func (o *Observer) StoreCall(ctx context.Context, op string) (context.Context, func(error)) {
	in := o.ops[op]
	if in == nil {
		in = o.newOpInfo(op) // an op newer than this module: labelled right, at a cost
	}
	var span trace.Span
	if o.tracer != nil {
		ctx, span = o.tracer.Start(ctx, in.spanName, spanStart...)
	}
	start := time.Now()
	return ctx, func(err error) {
		d := time.Since(start).Seconds()
		oc := classify(ctx, err)
		o.calls.Add(ctx, 1, in.add[oc]...)
		o.duration.Record(ctx, d, in.rec[oc]...)
		if span == nil {
			return
		}
		if span.IsRecording() {
			span.SetAttributes(in.spanEnd[oc]...)
			if oc >= outcomeTimeout {
				span.SetStatus(codes.Error, err.Error())
			}
		}
		span.End()
	}
}

// classify returns the outcome of a store call that returned err under
// ctx. Not-found and conflict are answers of the store, not failures. A
// failure is a timeout or a cancellation when the error says so, or when
// the call's context had ended by then: stores do not all wrap the
// context's error (a network client may report its own deadline error).
func classify(ctx context.Context, err error) outcome {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, session.ErrNotFound):
		return outcomeNotFound
	case errors.Is(err, session.ErrConflict):
		return outcomeConflict
	case errors.Is(err, context.DeadlineExceeded):
		return outcomeTimeout
	case errors.Is(err, context.Canceled):
		return outcomeCanceled
	}
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() {
		return outcomeTimeout
	}
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return outcomeTimeout
	case context.Canceled:
		return outcomeCanceled
	}
	return outcomeOther
}

// Event implements session.Observer: it counts e and, when the request is
// traced, adds it as an event to the request's span, so that a conflict
// or a failed commit shows in the request's trace.
func (o *Observer) Event(ctx context.Context, e session.Event) {
	if int(e) >= numEvents {
		return // an event newer than this module
	}
	in := &o.events[e]
	if in.counter == nil {
		return
	}
	in.counter.Add(ctx, 1, in.add...)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(in.span)
	}
}

var _ session.Observer = (*Observer)(nil)
