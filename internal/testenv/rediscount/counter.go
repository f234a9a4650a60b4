// Package rediscount counts what a go-redis client sends, for the tests
// and benchmarks that check how many commands a request costs.
package rediscount

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Counter is a redis.Hook that counts what a client sends to Redis. Attach
// it with client.AddHook(counter). The zero value is ready to use and it
// is safe for concurrent use.
//
// A command sent by itself counts as one command and one round trip; a
// pipeline of n commands counts as n commands and one round trip (on a
// ClusterClient, one per pipeline even when it is split between nodes).
// Commands the client sends on its own, such as HELLO on a new connection,
// are counted too. The SCAN and CLUSTER NODES commands that redisstore's
// Clear, Range and Len send to the masters of a Cluster go through the masters'
// own clients, which a hook on the ClusterClient does not see; their reads
// and deletes go through the ClusterClient.
type Counter struct {
	cmds  atomic.Int64
	trips atomic.Int64
}

var _ redis.Hook = (*Counter)(nil)

// DialHook implements redis.Hook; it counts nothing.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.cmds.Add(1)
		c.trips.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.cmds.Add(int64(len(cmds)))
		c.trips.Add(1)
		return next(ctx, cmds)
	}
}

// Commands returns the number of commands counted so far.
func (c *Counter) Commands() int64 { return c.cmds.Load() }

// RoundTrips returns the number of single commands and pipelines counted
// so far.
func (c *Counter) RoundTrips() int64 { return c.trips.Load() }

// Reset sets both counts to zero.
func (c *Counter) Reset() {
	c.cmds.Store(0)
	c.trips.Store(0)
}
