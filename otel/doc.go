// Package otelsession reports what a session.Manager does as OpenTelemetry
// metrics and spans. It is a module of its own so that the core keeps no
// dependency outside the standard library.
//
// Give a Manager an Observer and it counts, per Manager:
//
//	sessionkit.session.loads      {result: found, new, failed}
//	sessionkit.session.commits    {result: written, failed}
//	sessionkit.session.conflicts  compare-and-swap writes retried after losing to a concurrent request
//	sessionkit.sessions.created   new sessions stored
//	sessionkit.sessions.destroyed logouts and revocations
//	sessionkit.store.calls        {op, outcome: ok, not_found, conflict, error; error.type: timeout, canceled, other}
//	sessionkit.store.duration     histogram of the same calls, in seconds, 100µs to 10s
//
// and wraps every store call in a client span named after its op
// ("sessionkit.store get"), a child of the request's span, with an error
// status when the store failed (not when it answered "not found" or
// "conflict"). Session events (loaded, committed, conflict...) are added to
// the request's span when it is recorded. Every metric and span carries
// manager=NAME when the Observer is made WithName.
//
// Wiring, with the metrics served as Prometheus text (series named as in
// sessionkit_session_loads_total):
//
//	mp, metrics, err := otelsession.NewPrometheus()
//	obs, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithName("login"))
//	m, err := session.NewManager(session.WithStore(store), session.WithObserver(obs))
//	mux.Handle("GET /metrics", metrics)
//
// Without WithMeterProvider and WithTracerProvider the Observer uses the
// global providers, so an application already set up with OpenTelemetry
// needs only
//
//	obs, err := otelsession.New(otelsession.WithName("login"))
//
// Give each Manager its own Observer, with its own name: two Managers
// sharing one MeterProvider then report distinct series.
package otelsession
