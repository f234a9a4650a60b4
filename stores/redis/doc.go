// Package redisstore keeps sessionkit sessions in Redis: a single node,
// Sentinel or a Cluster, through go-redis v9.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(rdb, redisstore.WithPrefix("myapp:sess:"))
//	if err != nil { ... }
//	m, err := session.NewManager(session.WithStore(store))
//
// New takes any redis.UniversalClient: redis.NewClient (one node),
// redis.NewFailoverClient (Sentinel), redis.NewClusterClient, or
// redis.NewUniversalClient. Give the client ContextTimeoutEnabled so that
// the request's context bounds every command. NewFromURL makes the client
// from a URL (redis://, rediss://, unix://, or a Cluster as
// redis://host1:port?addr=host2:port&addr=host3:port) and Close closes it;
// a client given to New stays the caller's.
//
// A [Store] is a session.VersionedStore, so concurrent requests on one
// session merge instead of overwriting each other, a session.Lister
// (Manager.DestroyMatching) and a session.OwnerIndex (Manager.Sessions,
// Revoke, RevokeAll). Loading a session is one command (GET), committing a
// change one (EVALSHA); an untouched request sends nothing.
//
// Each session is one string under prefix+key, where key is the Manager's
// fingerprint (never the session ID): a 17-byte version header, then the
// encoded record, with a TTL that ends at the session's deadline. The
// owner index is a sorted set per owner under prefix+"owner:" (Redis 6.2
// or later). Keep hash tags ({...}) out of the prefix, so sessions spread
// over a Cluster's masters; never let one prefix start with another (Clear
// on "app:" would also delete "app:admin:").
//
// Clear, Range and Len SCAN every master (never KEYS) and read or delete
// through the client, which follows MOVED and ASK. When a Cluster is
// resharded during the scan they try again, then fail with
// ErrTopologyChanged: a nil error always means a complete sweep. They need
// CLUSTER NODES to be allowed; a slot left open by an interrupted reshard
// makes them fail until `redis-cli --cluster fix` closes it.
//
// Data under the prefix that this package did not write is an error
// wrapping ErrForeignData and session.ErrCorrupt, never overwritten by a
// compare-and-swap. When Redis is down the Manager returns errors wrapping
// session.ErrStore; the client reconnects by itself once Redis is back.
// docs/DESIGN.md says why the layout is what it is.
package redisstore
