package otelsession

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// NewPrometheus returns a MeterProvider to give to WithMeterProvider and
// an http.Handler that serves its metrics as Prometheus text, for a
// /metrics route:
//
//	mp, metrics, err := otelsession.NewPrometheus()
//	obs, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithName("login"))
//	m, err := session.NewManager(session.WithObserver(obs))
//	mux.Handle("GET /metrics", metrics)
//
// The series are named as in sessionkit_session_loads_total. They live in
// a registry of their own, not Prometheus's default one, so that building
// several of them in one process (tests, two servers) cannot collide; the
// exporter's scope labels and target_info series are left out, since the
// registry holds only these metrics. To serve them with other metrics,
// build the exporter yourself with go.opentelemetry.io/otel/exporters/prometheus
// and register it where those live.
func NewPrometheus() (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		// Explicit, because the exporter's default depends on a global
		// of the Prometheus libraries.
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("otelsession: prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	return mp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}
