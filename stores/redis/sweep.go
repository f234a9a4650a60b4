package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrTopologyChanged is returned (wrapped) by Range, Len and Clear when a
// Redis Cluster's slots moved while they scanned (or a Ring's shards
// changed or were down), every time they tried: a key can then move from a
// master not yet scanned to one already scanned, so they cannot vouch that
// they saw every key. Calling again once the resharding is over is safe. A
// slot left migrating by an interrupted reshard makes every call fail until
// redis-cli --cluster fix closes it.
var ErrTopologyChanged = errors.New("redisstore: the Cluster's slots (or the Ring's shards) changed during the scan, so it may have missed keys")

// A sweep that cannot vouch for itself is tried again, at most maxSweeps
// times in all, after pauses doubling from sweepPause: long enough to ride
// out a slot or two being migrated, not a whole reshard.
const (
	maxSweeps  = 5
	sweepPause = 50 * time.Millisecond
)

// Clear deletes every key under the prefix, found with SCAN on every
// master, in pipelined batches of single-key UNLINKs sent through the
// client, which routes each key to the node that holds it now (following
// MOVED and ASK in a Cluster). It fails with ErrTopologyChanged rather than
// return nil when it cannot vouch that it found every key.
func (s *Store) Clear(ctx context.Context) error {
	err := s.sweep(ctx, nil, func(ctx context.Context, keys []string) error {
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Unlink(ctx, k)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return wrap("clear", err)
	}
	return nil
}

// Range implements session.Lister: it visits every live record under the
// prefix, keyed without the prefix, found with SCAN on every master and
// read with pipelined GETs through the client (so a key that moved since
// the SCAN is still read). It fails with ErrForeignData if a key under the
// prefix holds something else, and with ErrTopologyChanged when it cannot
// vouch that it visited every record; records visited before it gave up
// may be visited again by a later pass.
func (s *Store) Range(ctx context.Context, fn func(key string, data []byte, version uint64) error) error {
	// A Cluster client that reads from replicas would send GET to one that
	// may lag behind and miss a new key; GETEX is a write, so it goes to
	// the master, and without options it changes nothing.
	get := "get"
	if cc, ok := s.c.(*redis.ClusterClient); ok && cc.Options().ReadOnly {
		get = "getex"
	}
	var (
		mu      sync.Mutex // fn is called one call at a time
		stopped error      // fn's error: the masters scanned concurrently stop too
	)
	err := s.sweep(ctx, nil, func(ctx context.Context, keys []string) error {
		keys = slices.DeleteFunc(keys, s.isIndexKey)
		cmds := make([]*redis.StringCmd, len(keys))
		_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = redis.NewStringCmd(ctx, get, k)
				p.Process(ctx, cmds[i])
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) && !isWrongType(err) {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if stopped != nil {
			return stopped
		}
		for i, cmd := range cmds {
			b, err := cmd.Bytes()
			if errors.Is(err, redis.Nil) {
				continue // expired or deleted since the SCAN
			}
			if err != nil {
				return err
			}
			v, ok := parseHeader(b)
			if !ok {
				return ErrForeignData
			}
			if err := fn(strings.TrimPrefix(keys[i], s.prefix), b[hdrLen:], v); err != nil {
				stopped = err
				return err
			}
		}
		return nil
	})
	if stopped != nil {
		return stopped
	}
	if err != nil {
		return wrap("range", err)
	}
	return nil
}

// Len counts the keys under the prefix with SCAN on every master. SCAN may
// return a key twice; Len counts it once. It fails with ErrTopologyChanged
// rather than return a count it cannot vouch for.
func (s *Store) Len(ctx context.Context) (int, error) {
	var (
		mu   sync.Mutex
		seen map[uint64]struct{}
	)
	seed := maphash.MakeSeed()
	err := s.sweep(ctx, func() {
		mu.Lock()
		seen = make(map[uint64]struct{})
		mu.Unlock()
	}, func(_ context.Context, keys []string) error {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			if !s.isIndexKey(k) {
				seen[maphash.String(seed, k)] = struct{}{}
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap("len", err)
	}
	return len(seen), nil
}

// sweep calls batch with every batch of keys under the prefix that SCAN
// finds, never using KEYS, which blocks the server. In a Cluster (or a
// Ring) it scans every master (shard) concurrently, so batch must be safe
// for concurrent use, and it repeats the whole pass, calling start (if not
// nil) before each, until a pass can vouch that it saw every key that
// existed throughout it.
func (s *Store) sweep(ctx context.Context, start func(), batch func(context.Context, []string) error) error {
	var pass func(context.Context) (string, error)
	switch c := s.c.(type) {
	case *redis.ClusterClient:
		pass = func(ctx context.Context) (string, error) { return s.clusterPass(ctx, c, start, batch) }
	case *redis.Ring:
		pass = func(ctx context.Context) (string, error) { return s.ringPass(ctx, c, start, batch) }
	default:
		if start != nil {
			start()
		}
		return s.scanNode(ctx, c, batch)
	}
	var why string
	for i := range maxSweeps {
		if i > 0 {
			t := time.NewTimer(sweepPause << (i - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		var err error
		if why, err = pass(ctx); err != nil || why == "" {
			return err
		}
	}
	return fmt.Errorf("%w: %s (%d tries)", ErrTopologyChanged, why, maxSweeps)
}

// scanNode runs SCAN over one node, calling batch with each page of keys.
func (s *Store) scanNode(ctx context.Context, node redis.Cmdable, batch func(context.Context, []string) error) error {
	var cursor uint64
	for {
		keys, next, err := node.Scan(ctx, cursor, s.match, scanCount).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := batch(ctx, keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// clusterPass scans every master of a Cluster once and returns why the
// pass cannot vouch for itself, or "" if it can. It can when the masters
// report the same layout (node IDs, config epochs, slots) before and after
// the scan, no slot is being migrated at either end, the masters own every
// slot exactly once, and they are the masters scanned. A key moves between
// masters only while its slot is migrating, and a slot that moves away and
// back (A to B to A) raises a config epoch on the way: the node a slot is
// handed to bumps its epoch unless it already has the highest one, which
// cannot hold for both A and B.
func (s *Store) clusterPass(ctx context.Context, c *redis.ClusterClient, start func(), batch func(context.Context, []string) error) (string, error) {
	before, err := readLayout(ctx, c)
	if err != nil || before.unstable != "" {
		return before.unstable, err
	}
	if start != nil {
		start()
	}
	var (
		mu      sync.Mutex
		scanned = make(map[string]bool)
	)
	err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		mu.Lock()
		scanned[n.Options().Addr] = true
		mu.Unlock()
		return s.scanNode(ctx, n, batch)
	})
	if err != nil {
		return "", err
	}
	after, err := readLayout(ctx, c)
	switch {
	case err != nil || after.unstable != "":
		return after.unstable, err
	case !maps.Equal(before.nodes, after.nodes):
		return "slot ownership or config epochs changed during the scan", nil
	case c.Options().ClusterSlots != nil:
		return "", nil // the client's masters come from the same map, under addresses of its own
	case len(scanned) != len(before.nodes):
		return "the masters scanned are not the masters that own the slots", nil
	}
	for addr := range before.nodes {
		if !scanned[addr] {
			return "the masters scanned are not the masters that own the slots", nil
		}
	}
	return "", nil
}

// layout is what the masters a ClusterClient knows say about themselves.
type layout struct {
	// nodes maps a master's address to its own line of CLUSTER NODES
	// without the fields that change by themselves (pings, link state):
	// node ID, flags, config epoch and slots.
	nodes map[string]string
	// unstable says why the layout cannot vouch for a scan, or is "".
	unstable string
}

func readLayout(ctx context.Context, c *redis.ClusterClient) (layout, error) {
	var mu sync.Mutex
	l := layout{nodes: make(map[string]string)}
	if slots := c.Options().ClusterSlots; slots != nil {
		// The application gives the slot map, often over servers that do
		// not run in cluster mode (no CLUSTER NODES): that map must stay
		// put, and own every slot once.
		m, err := slots(ctx)
		if err != nil {
			return l, err
		}
		for _, r := range m {
			if len(r.Nodes) > 0 {
				a := r.Nodes[0].Addr
				l.nodes[a] = cmp.Or(l.nodes[a], "- master 0") + fmt.Sprintf(" %d-%d", r.Start, r.End)
			}
		}
		l.unstable = l.check()
		return l, nil
	}
	err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		out, err := n.ClusterNodes(ctx).Result()
		if err != nil {
			return err
		}
		self, err := ownLine(out)
		if err != nil {
			return fmt.Errorf("%s: %w", n.Options().Addr, err)
		}
		mu.Lock()
		l.nodes[n.Options().Addr] = self
		mu.Unlock()
		return nil
	})
	if err != nil {
		return l, err
	}
	l.unstable = l.check()
	return l, nil
}

// ownLine returns the "myself" line of a CLUSTER NODES reply, keeping the
// node ID, flags, config epoch and slots.
func ownLine(out string) (string, error) {
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 8 || !slices.Contains(strings.Split(f[2], ","), "myself") {
			continue
		}
		return strings.Join(append([]string{f[0], f[2], f[6]}, f[8:]...), " "), nil
	}
	return "", errors.New("CLUSTER NODES has no line for the node itself")
}

// check returns why the layout cannot vouch for a scan, or "".
func (l layout) check() string {
	var owners [16384]uint8
	for _, addr := range slices.Sorted(maps.Keys(l.nodes)) {
		f := strings.Fields(l.nodes[addr])
		if !slices.Contains(strings.Split(f[1], ","), "master") {
			return addr + " is no longer a master"
		}
		for _, r := range f[3:] {
			if strings.HasPrefix(r, "[") {
				return "slot " + strings.Trim(r, "[]") + " is being migrated"
			}
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || a < 0 || b >= len(owners) || a > b {
				return addr + " reports a slot range it cannot own: " + r
			}
			for i := a; i <= b; i++ {
				owners[i]++
			}
		}
	}
	for i, n := range owners {
		if n != 1 {
			return fmt.Sprintf("slot %d is owned by %d of the masters the client knows", i, n)
		}
	}
	return ""
}

// ringPass scans every shard of a Ring once and returns why the pass
// cannot vouch for itself, or "" if it can: when no configured shard is
// down and the shards are the same before, during and after the scan. A
// Ring sends the keys of a shard that is down to the others, and its
// sessions come back with it.
func (s *Store) ringPass(ctx context.Context, c *redis.Ring, start func(), batch func(context.Context, []string) error) (string, error) {
	before := c.GetShardClients() // the shards that are up
	if n := len(c.Options().Addrs); len(before) < n {
		return fmt.Sprintf("%d of the Ring's %d shards are down", n-len(before), n), nil
	}
	if start != nil {
		start()
	}
	var (
		mu      sync.Mutex
		scanned []*redis.Client
	)
	err := c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
		mu.Lock()
		scanned = append(scanned, n)
		mu.Unlock()
		return s.scanNode(ctx, n, batch)
	})
	if err != nil {
		return "", err
	}
	if !sameClients(before, scanned) || !sameClients(before, c.GetShardClients()) {
		return "the Ring's shards changed during the scan", nil
	}
	return "", nil
}

func sameClients(a, b []*redis.Client) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[*redis.Client]bool, len(a))
	for _, c := range a {
		in[c] = true
	}
	for _, c := range b {
		if !in[c] {
			return false
		}
	}
	return true
}
