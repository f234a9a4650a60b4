// Package redisstore keeps sessionkit sessions in Redis, on a single node,
// behind Sentinel or in a Redis Cluster, through go-redis v9.
//
// A *Store implements session.VersionedStore, so the Manager commits with
// compare-and-swap and concurrent requests on one session never lose each
// other's changes, and also session.Lister (for Manager.DestroyMatching) and
// session.OwnerIndex (for Manager.Sessions, Revoke and RevokeAll).
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	m, err := session.NewManager(session.WithStore(redisstore.New(rdb)))
//
// # Key layout
//
// Each session is one Redis string under prefix+key, where key is the
// Manager's fingerprint of the session (a SHA-256 hash, never the session ID)
// and the prefix is "sessionkit:" unless WithPrefix says otherwise. The value
// is a 17-byte header — the record's version as 16 lowercase hex digits and
// a colon — followed by the record exactly as the Manager's codec encoded
// it:
//
//	sessionkit:Xk3…43 chars…  →  "5f0c2a9e13b7d004:" + record
//
// The key carries a native TTL (PX, in milliseconds) that ends at the
// session's deadline, so Redis drops expired sessions itself; an expiry
// already past deletes the key instead of writing it. The TTL is relative,
// computed from the application's clock, so clock skew between the
// application and Redis does not shorten or stretch sessions.
//
// A single string rather than a hash {v, d} was chosen because it is the
// smallest thing Redis can store (a hash with a value over 64 bytes, which
// most session records are, leaves the compact listpack encoding and costs
// about a hundred bytes more per session), because GET and SET with PX are
// one command each with no script needed for reads or plain writes, and
// because the header is simple for programs in other languages to strip.
// The script compares only the header, with GETRANGE, so a large record is
// never copied into Lua.
//
// The owner index (session.OwnerIndex, behind Manager.Sessions and
// RevokeAll) is one sorted set per owner under prefix+"owner:"+a hash of
// the owner, whose members are the owner's session keys scored by expiry;
// it expires with its last member. Range and Len skip it; Clear removes
// it. It needs Redis 6.2 or later (ZADD GT).
//
// Data under the prefix that this package did not write — another Redis
// type (WRONGTYPE) or a string without the header — is reported as an error
// wrapping ErrForeignData and session.ErrCorrupt, never a crash, and the
// compare-and-swap never overwrites it. Set, like Redis' own SET, does.
//
// # Versions
//
// Every write gives the record a new version drawn at random from
// [1, 2^63) in the application (math/rand/v2, a ChaCha8 stream seeded from
// the operating system in each process). SetVersion runs a Lua script that
// compares the stored header with the expected version and, in the same
// atomic step, writes the new value and its TTL; version 0 requires the key
// to be absent (or expired). Random versions need no counter, so nothing
// survives a deletion: when a session is deleted and created again, its new
// version matches the old one with probability 2^-63, and a writer that
// still holds the old version gets session.ErrConflict. A per-key counter
// (INCR) would restart at 1 after a deletion and accept stale writers unless
// it outlived the session in a second key; a store-wide counter would put
// every write through one key, one Cluster slot. The version lives inside
// the session's own key, so the script touches a single key and in a Cluster
// runs wholly on the node that owns it. go-redis resends a command whose
// reply was lost to a network error; a resent script that finds the very
// version it was writing already stored reports success, so the retry
// neither fails a new session nor makes the Manager apply a change twice.
//
// # Round trips
//
// Loading a session is one command (GET). Committing a changed session is
// one command (EVALSHA; go-redis's Script.Run falls back to EVAL once when a
// server does not have the script cached yet, after a restart or SCRIPT
// FLUSH). A request that does not touch its session sends nothing. Get,
// Set and Delete are one command each. Clear, Range and Len SCAN with MATCH
// prefix* and COUNT 1000 (never KEYS) and read or delete in pipelined
// batches.
//
// # Topologies
//
// New accepts any redis.UniversalClient:
//
//	// One node.
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//
//	// Sentinel: a *redis.Client that follows the master through failovers.
//	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
//		MasterName:    "mymaster",
//		SentinelAddrs: []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
//		ContextTimeoutEnabled: true,
//	})
//
//	// Cluster.
//	rdb := redis.NewClusterClient(&redis.ClusterOptions{
//		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
//		ContextTimeoutEnabled: true,
//	})
//
//	// Any of them, chosen by the options (several Addrs: Cluster;
//	// MasterName: Sentinel; else one node).
//	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: addrs, ContextTimeoutEnabled: true})
//
// In a Cluster every session lives in the slot of its own key, so sessions
// spread over all masters; keep hash tags ({...}) out of the prefix. Clear,
// Range and Len SCAN every master (ClusterClient.ForEachMaster) or every
// shard of a redis.Ring, and read or delete the keys found through the
// client, which follows MOVED and ASK. While slots migrate, a key can move
// from a master not yet scanned to one already scanned, so they compare
// what the masters report (node IDs, config epochs, slots) before and after
// the scan, and when a slot moved or was being migrated they try again, up
// to five passes over about a second, then fail with ErrTopologyChanged. A
// nil error thus means a complete sweep, and Manager.DestroyMatching never
// reports a partial revocation as done. A Ring fails the same way when a
// shard is down or the shards change. A Cluster client that reads from
// replicas (ReadOnly, RouteByLatency, RouteRandomly) may load a version a
// replica has not caught up on; the compare-and-swap, which always runs on
// the master, then fails and the Manager reloads and retries, so no change
// is lost. Range reads with GETEX (Redis 6.2 or later) on such a client, so
// that its reads go to the masters and see every new key.
//
// NewFromURL makes the client from a URL (redis://, rediss://, unix://, or
// a Cluster as redis://host1:port?addr=host2:port&addr=host3:port) and Close
// closes it. A client given to New is the caller's: Close leaves it open.
//
// Give the client ContextTimeoutEnabled: true so the request's context
// bounds every command; with it off go-redis applies only its own
// DialTimeout, ReadTimeout and WriteTimeout. When Redis is down the Manager
// returns errors wrapping session.ErrStore, and the same client reconnects
// by itself once Redis is back.
package redisstore
