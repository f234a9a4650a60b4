package demo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	session "github.com/sessionkit/sessionkit/core"
	pgstore "github.com/sessionkit/sessionkit/stores/postgres"
	redisstore "github.com/sessionkit/sessionkit/stores/redis"
	sqlitestore "github.com/sessionkit/sessionkit/stores/sqlite"
)

// OpenStore opens the session store that spec names:
//
//	memory                           a session.MemoryStore in this process
//	redis://host:port/db             Redis, through redisstore.NewFromURL
//	rediss://...                     (the same over TLS)
//	postgres://user@host:port/db     PostgreSQL, through pgstore.Open,
//	postgresql://...                 creating the sessions table if needed
//	sqlite:PATH                      a SQLite database file, through
//	                                 sqlitestore.Open (created if missing;
//	                                 several processes may share it)
//
// It checks that a remote store answers, so a wrong URL fails at start-up
// rather than on the first request. The caller closes the store with the
// returned function once no request uses it any more.
func OpenStore(ctx context.Context, spec string) (session.Store, func() error, error) {
	return OpenStoreMax(ctx, spec, 0)
}

// OpenStoreMax is OpenStore with a bound on the memory store: at most
// maxSessions sessions (session.WithMaxEntries; 0 means none).
func OpenStoreMax(ctx context.Context, spec string, maxSessions int) (session.Store, func() error, error) {
	switch storeKind(spec) {
	case "memory":
		s, err := session.NewMemoryStore(session.WithMaxEntries(maxSessions))
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	case "redis":
		s, err := redisstore.NewFromURL(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("opening redis store %s: %w", StoreName(spec), err)
		}
		if err := ping(ctx, s); err != nil {
			s.Close()
			return nil, nil, fmt.Errorf("redis store %s: %w", StoreName(spec), err)
		}
		return s, s.Close, nil
	case "postgres":
		s, err := pgstore.Open(ctx, spec, pgstore.WithCreateTable())
		if err != nil {
			return nil, nil, fmt.Errorf("opening postgres store %s: %w", StoreName(spec), err)
		}
		if err := ping(ctx, s); err != nil {
			s.Close()
			return nil, nil, fmt.Errorf("postgres store %s: %w", StoreName(spec), err)
		}
		return s, s.Close, nil
	case "sqlite":
		path := strings.TrimPrefix(spec, "sqlite:")
		s, err := sqlitestore.Open(ctx, path)
		if err != nil {
			return nil, nil, fmt.Errorf("opening sqlite store %s: %w", path, err)
		}
		return s, s.Close, nil
	default:
		return nil, nil, errUnknownStore(spec)
	}
}

// storeKind returns "memory", "redis", "postgres" or "sqlite" for a
// -store value, or "" when it names no store the demo knows.
func storeKind(spec string) string {
	if spec == "memory" {
		return "memory"
	}
	if path, ok := strings.CutPrefix(spec, "sqlite:"); ok && path != "" && !strings.HasPrefix(path, "//") {
		return "sqlite"
	}
	scheme, _, ok := strings.Cut(spec, "://")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "redis", "rediss":
		return "redis"
	case "postgres", "postgresql":
		return "postgres"
	}
	return ""
}

func errUnknownStore(spec string) error {
	return fmt.Errorf("unknown -store %q: want memory, redis://host:port/db, postgres://user@host:port/db or sqlite:PATH", StoreName(spec))
}

// ping makes one harmless store call (a Get of a key no session can have),
// so an unreachable server is reported now.
func ping(ctx context.Context, s session.Store) error {
	_, err := s.Get(ctx, "sessionkit-demo-ping")
	if err == nil || errors.Is(err, session.ErrNotFound) {
		return nil
	}
	return err
}

// StoreName returns spec as it may be logged: "memory", "sqlite:PATH", or the URL's
// scheme, host and path without user, password or query (which may hold a
// password).
func StoreName(spec string) string {
	if !strings.Contains(spec, "://") {
		return spec
	}
	u, err := url.Parse(spec)
	if err != nil {
		scheme, _, _ := strings.Cut(spec, "://")
		return scheme + "://(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
