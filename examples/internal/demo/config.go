package demo

import (
	"flag"
	"fmt"
	"io"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// Config is the demo's configuration, read from the command line by
// ParseFlags.
type Config struct {
	// Addr is the TCP address to listen on (-addr). Port 0 picks a free
	// port; the runner logs the real one.
	Addr string
	// Store says where sessions are kept (-store): "memory", a redis:// or
	// rediss:// URL, a postgres:// or postgresql:// URL, or sqlite:PATH.
	// See OpenStore.
	Store string
	// IdleTimeout ends sessions unused for this long (-idle-timeout); 0
	// turns it off, as in the core.
	IdleTimeout time.Duration
	// Lifetime bounds a session's age from its creation (-lifetime).
	Lifetime time.Duration
	// CookieSecure sets the session cookie's Secure flag (-cookie-secure).
	// It is off in the demo because the demo serves plain HTTP.
	CookieSecure bool
	// StreamInterval is the pause between the lines of /api/stream
	// (-stream-interval); tests shorten it.
	StreamInterval time.Duration
	// ShutdownTimeout bounds how long a shutdown waits for in-flight
	// requests (-shutdown-timeout).
	ShutdownTimeout time.Duration
	// MaxSessions bounds the memory store (-max-sessions), as
	// session.WithMaxEntries; 0 means no bound.
	MaxSessions int
	// StoreTimeout bounds the store calls of one session load or commit
	// (-store-timeout), as session.WithStoreTimeout.
	StoreTimeout time.Duration
	// ReadTimeout bounds reading one request, headers and body
	// (-read-timeout); see App.Timeouts.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response (-write-timeout); see
	// App.Timeouts.
	WriteTimeout time.Duration
	// TokenHeader, when set (-token-header), carries the login session's
	// ID in this request header instead of a cookie, and a new token in
	// the response header of the same name (session.WithTokenHeader).
	TokenHeader string
	// RotateGrace is how long the old ID of a rotated session keeps
	// resolving (-rotate-grace), as session.WithRotateGrace.
	RotateGrace time.Duration
	// ConnIdleTimeout bounds how long a keep-alive connection waits for
	// its next request (-conn-idle-timeout).
	ConnIdleTimeout time.Duration
}

// Defaults of the flags that the core does not define.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultStore           = "memory"
	DefaultStreamInterval  = time.Second
	DefaultShutdownTimeout = 10 * time.Second
	DefaultStoreTimeout    = 3 * time.Second
	DefaultRotateGrace     = 30 * time.Second
	// DefaultPrefsLifetime is the lifetime of the preferences session.
	DefaultPrefsLifetime = 365 * 24 * time.Hour
	// The connection timeouts of every demo's server (App.Timeouts). A
	// request is a few KiB at most, so 10 s to read one is plenty for a
	// slow client yet cuts off one that sends its headers a byte at a
	// time (slowloris).
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultConnIdleTimeout = 2 * time.Minute
)

// ParseFlags parses the demo's command line args (without the program
// name) for the program named name. Usage and errors are written to out.
// It returns flag.ErrHelp when -h or -help was given.
func ParseFlags(name string, args []string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s [flags]\n\nThe sessionkit demo app (%s). Flags:\n\n", name, name)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Addr, "addr", DefaultAddr,
		"TCP `address` to listen on; port 0 picks a free port (the real address is logged)")
	fs.StringVar(&c.Store, "store", DefaultStore,
		"session store: memory, redis://host:port/db, postgres://user@host:port/db or sqlite:PATH")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", 0,
		"end sessions unused for this `duration`; 0 turns the idle timeout off")
	fs.DurationVar(&c.Lifetime, "lifetime", session.DefaultLifetime,
		"absolute maximum session age, counted from its creation")
	fs.BoolVar(&c.CookieSecure, "cookie-secure", false,
		"set the Secure flag on the session cookie. Off by default only because this demo serves\n"+
			"plain HTTP: browsers and cookie jars send a Secure cookie over http:// to localhost and\n"+
			"loopback addresses only, so a demo reached under any other name (from another machine,\n"+
			"in a container) would start a new session on every request. Turn it on whenever the app\n"+
			"is served over HTTPS, as the library does by default")
	fs.DurationVar(&c.StreamInterval, "stream-interval", DefaultStreamInterval,
		"pause between the lines of /api/stream (tests shorten it)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout,
		"how long a shutdown (SIGINT, SIGTERM) waits for in-flight requests")
	fs.IntVar(&c.MaxSessions, "max-sessions", 0,
		"bound the memory store to this many sessions, evicting the ones closest to expiry; 0: no bound")
	fs.DurationVar(&c.StoreTimeout, "store-timeout", DefaultStoreTimeout,
		"give up on a session store call after this long and answer 500, so a stalled store never hangs a request")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", DefaultReadTimeout,
		"close a connection whose request (headers and body) takes longer than this to arrive")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", DefaultWriteTimeout,
		"close a connection whose response takes longer than this to write (/api/stream gets its\n"+
			"two -stream-interval pauses on top)")
	fs.DurationVar(&c.ConnIdleTimeout, "conn-idle-timeout", DefaultConnIdleTimeout,
		"close a keep-alive connection idle for this long (not the session's -idle-timeout)")
	fs.StringVar(&c.TokenHeader, "token-header", "",
		"carry the login session's ID in this request `header` (and new ones in the response header of\n"+
			"that name) instead of a cookie, as API and mobile clients do")
	fs.DurationVar(&c.RotateGrace, "rotate-grace", DefaultRotateGrace,
		"how long the old ID keeps resolving after POST /api/rotate")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	bad := func(format string, args ...any) (Config, error) {
		err := fmt.Errorf(format, args...)
		fmt.Fprintln(out, err)
		fs.Usage()
		return Config{}, err
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case storeKind(c.Store) == "":
		return bad("%v", errUnknownStore(c.Store))
	case c.StreamInterval < 0:
		return bad("-stream-interval must not be negative, got %v", c.StreamInterval)
	case c.RotateGrace < 0:
		return bad("-rotate-grace must not be negative, got %v", c.RotateGrace)
	case c.ShutdownTimeout <= 0:
		return bad("-shutdown-timeout must be positive, got %v", c.ShutdownTimeout)
	case c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.ConnIdleTimeout <= 0:
		return bad("-read-timeout, -write-timeout and -conn-idle-timeout must be positive, got %v, %v and %v",
			c.ReadTimeout, c.WriteTimeout, c.ConnIdleTimeout)
	case c.MaxSessions < 0 || c.MaxSessions > 0 && storeKind(c.Store) != "memory":
		return bad("-max-sessions must be 0, or positive with -store memory, got %d", c.MaxSessions)
	}
	return c, nil
}
