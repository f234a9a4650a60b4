package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	otelsession "github.com/sessionkit/sessionkit/otel"
)

// Server is a framework's HTTP server as the runner drives it.
type Server interface {
	// Serve accepts connections on ln until Shutdown; it returns nil or
	// http.ErrServerClosed after a shutdown.
	Serve(ln net.Listener) error
	// Shutdown stops accepting connections and waits, until ctx is done,
	// for the requests in flight to finish.
	Shutdown(ctx context.Context) error
}

// BuildFunc builds a framework's server for app: its router with the
// session middleware (given app.Manager) and the demo's routes.
type BuildFunc func(app *App) (Server, error)

// ServerFuncs is a Server made of two functions, for frameworks that are
// not an http.Handler (fiber: ServerFuncs{app.Listener, app.ShutdownWithContext}).
type ServerFuncs struct {
	ServeFunc    func(ln net.Listener) error     // Server.Serve
	ShutdownFunc func(ctx context.Context) error // Server.Shutdown
}

// Serve calls s.ServeFunc.
func (s ServerFuncs) Serve(ln net.Listener) error { return s.ServeFunc(ln) }

// Shutdown calls s.ShutdownFunc.
func (s ServerFuncs) Shutdown(ctx context.Context) error { return s.ShutdownFunc(ctx) }

// Timeouts are the connection timeouts of a demo's server. Every demo's
// server applies the same: HTTPServer for net/http, gin and echo, the
// fiber.Config of the fiber demo (fasthttp has none by default).
type Timeouts struct {
	// Read bounds reading one request, headers and body, counted from its
	// first byte (from the connection's opening for the first request).
	// It ends a slowloris: a client sending its headers a byte at a time.
	Read time.Duration
	// Write bounds writing one response (net/http counts the handler's
	// time too). It leaves room for the longest response, /api/stream.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request.
	Idle time.Duration
}

// Timeouts returns the server timeouts of the configuration:
// -read-timeout, -conn-idle-timeout, and -write-timeout plus the pauses of
// /api/stream, so that the stream is never cut short.
func (a *App) Timeouts() Timeouts {
	c := a.Config
	return Timeouts{
		Read:  c.ReadTimeout,
		Write: c.WriteTimeout + (StreamLines-1)*c.StreamInterval,
		Idle:  c.ConnIdleTimeout,
	}
}

// HTTPServer returns a Server serving h with net/http, for the frameworks
// whose router is an http.Handler (net/http, gin, echo), with the demo's
// Timeouts: the headers and the whole request share the read timeout, as
// in fasthttp, which has only one.
func (a *App) HTTPServer(h http.Handler) Server {
	t := a.Timeouts()
	return &httpServer{&http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.Read,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}}
}

type httpServer struct{ s *http.Server }

// Serve implements Server.
func (h *httpServer) Serve(ln net.Listener) error { return h.s.Serve(ln) }

// Shutdown implements Server; when ctx ends first, it closes the
// connections that are left.
func (h *httpServer) Shutdown(ctx context.Context) error {
	err := h.s.Shutdown(ctx)
	if err != nil {
		h.s.Close() // out of time: cut what is left
	}
	return err
}

// NewLogger returns the demo's logger, writing text lines to w.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// LogError logs a request that failed on the server side (a 5xx), such as
// a session store failure. The error never holds a session ID: the core
// does not put IDs into errors.
func (a *App) LogError(method, path string, err error) {
	a.Logger.Error("request failed", "method", method, "path", path, "err", err)
}

// Options configures Run.
type Options struct {
	// Framework names the demo in logs and on the page.
	Framework string
	// Args is the command line without the program name.
	Args []string
	// Build makes the framework's server.
	Build BuildFunc
	// Listener, when set, is served instead of listening on -addr; Run
	// closes it. Tests pass a listener on 127.0.0.1:0.
	Listener net.Listener
	// Log receives usage messages and the log; nil means os.Stderr.
	Log io.Writer
}

// ErrUsage wraps the error Run returns for an invalid command line (the
// message and usage have already been written to Options.Log).
var ErrUsage = errors.New("invalid command line")

// Run runs a demo until ctx is done, then shuts it down gracefully:
// it stops accepting connections, lets the requests in flight finish (for
// at most -shutdown-timeout), then closes the session Manager and the
// store. It parses o.Args, opens the store, builds the Manager and the
// server, and logs one line
//
//	listening on http://127.0.0.1:8080 (framework nethttp, store memory)
//
// with the real address once it accepts connections. It returns nil after
// a clean shutdown; flag.ErrHelp for -h; an error wrapping ErrUsage for an
// invalid command line.
func Run(ctx context.Context, o Options) (err error) {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	ln := o.Listener
	defer func() {
		if ln != nil {
			ln.Close() // not served: release it
		}
	}()

	cfg, err := ParseFlags(o.Framework, o.Args, o.Log)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	logger := NewLogger(o.Log)

	openCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	store, closeStore, err := OpenStoreMax(openCtx, cfg.Store, cfg.MaxSessions)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeStore(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing the store: %w", cerr))
		}
	}()

	app, err := newApp(o.Framework, cfg, store, logger)
	if err != nil {
		fmt.Fprintln(o.Log, err)
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	defer app.close()

	srv, err := o.Build(app)
	if err != nil {
		return fmt.Errorf("building the %s server: %w", o.Framework, err)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return err
		}
	}

	served := make(chan error, 1)
	l := ln
	ln = nil // the server owns it now
	go func() { served <- srv.Serve(l) }()
	logger.Info(fmt.Sprintf("listening on http://%s (framework %s, store %s)", l.Addr(), o.Framework, StoreName(cfg.Store)))

	select {
	case err := <-served: // the server stopped on its own: a failure
		if err == nil || errors.Is(err, http.ErrServerClosed) {
			err = errors.New("server stopped unexpectedly")
		}
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	// Servers close their listeners on shutdown; closing it again also
	// ends a Serve that had not yet started when Shutdown ran.
	l.Close()
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && !errors.Is(serr, net.ErrClosed) {
		shutErr = errors.Join(shutErr, serr)
	}
	if shutErr != nil {
		return fmt.Errorf("shutting down: %w", shutErr)
	}
	logger.Info("stopped")
	return nil
}

// Main is a demo program's main: it runs the demo named framework with the
// process's arguments until SIGINT or SIGTERM, then shuts it down
// gracefully (a second signal kills it at once). It exits 0 after a clean
// shutdown or -h, 2 for an invalid command line and 1 for any other
// failure.
func Main(framework string, build BuildFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // restore the default: a second signal ends the process
	}()
	err := Run(ctx, Options{Framework: framework, Args: os.Args[1:], Build: build})
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, ErrUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", framework, err)
		os.Exit(1)
	}
}

// newApp builds the demo's two Managers on store, both reporting to one
// OpenTelemetry MeterProvider whose metrics App.Metrics serves.
func newApp(framework string, cfg Config, store session.Store, logger *slog.Logger) (*App, error) {
	mp, metrics, err := otelsession.NewPrometheus()
	if err != nil {
		return nil, err
	}
	observer := func(name string) session.Option {
		obs, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithName(name))
		if err != nil {
			return func(*session.Manager) error { return err }
		}
		return session.WithObserver(obs)
	}
	opts := []session.Option{
		session.WithStore(store),
		session.WithLifetime(cfg.Lifetime),
		session.WithIdleTimeout(cfg.IdleTimeout),
		session.WithCookieSecure(cfg.CookieSecure),
		session.WithStoreTimeout(cfg.StoreTimeout),
		session.WithRotateGrace(cfg.RotateGrace),
		session.WithLogger(logger),
		observer("login"),
	}
	if cfg.TokenHeader != "" {
		opts = append(opts, session.WithTokenHeader(cfg.TokenHeader))
	}
	m, err := session.NewManager(opts...)
	if err != nil {
		mp.Shutdown(context.Background())
		return nil, err
	}
	// The preferences session: its own cookie, persistent, a year long,
	// on the same store (IDs never collide).
	prefs, err := session.NewManager(
		session.WithStore(store),
		session.WithCookieName(PrefsCookie),
		session.WithPersistentCookie(true),
		session.WithLifetime(DefaultPrefsLifetime),
		session.WithCookieSecure(cfg.CookieSecure),
		session.WithStoreTimeout(cfg.StoreTimeout),
		session.WithLogger(logger),
		observer("prefs"),
	)
	if err != nil {
		m.Close()
		mp.Shutdown(context.Background())
		return nil, err
	}
	return &App{
		Framework: framework, Config: cfg, Manager: m, Prefs: prefs, Metrics: metrics, Logger: logger,
		closeMetrics: func() error { return mp.Shutdown(context.Background()) },
	}, nil
}

// close closes the Managers and the metrics pipeline.
func (a *App) close() {
	a.Manager.Close()
	a.Prefs.Close()
	a.closeMetrics()
}
