package bench

import (
	goredis "github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
	redisstore "github.com/sessionkit/sessionkit/stores/redis"
	"github.com/stretchr/testify/require"
)

// newManager returns a sessionkit Manager with the defaults — the default
// MemoryStore unless redis asks for the Redis store — and, for the Redis
// one, the meter of its client.
func newManager(tb env, redis bool) (*session.Manager, *redisMeter) {
	var (
		opts []session.Option
		rm   *redisMeter
	)
	if redis {
		var rc *goredis.Client
		rc, rm = goredisClient(tb)
		store, err := redisstore.New(rc, redisstore.WithPrefix("bench:sk:"))
		require.NoError(tb, err)
		opts = append(opts, session.WithStore(store), session.WithLifetime(redisLifetime))
	}
	m, err := session.NewManager(opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { m.Close() })
	return m, rm
}

// sessionkitStep is a sessionkit handler's session work for sc, the same
// under every framework: s and err are what the adapter's Get returned.
func sessionkitStep(sc *scenario, s *session.Session, err error) (body int, ok bool) {
	if err != nil {
		return 0, false
	}
	var held any
	if sc.reads {
		held = s.Get(valueKey)
	}
	next, store, body, ok := sc.step(held)
	if store {
		s.Set(valueKey, next)
	}
	return body, ok
}
