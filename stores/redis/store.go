package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessionkit/sessionkit/core"
)

// DefaultPrefix is the key prefix used unless WithPrefix sets another.
const DefaultPrefix = "sessionkit:"

// scanCount is the COUNT hint of the SCANs behind Clear, Range and Len, and so
// the size of their batches.
const scanCount = 1000

// hdrLen is the length of the header in front of every stored record: the
// version as 16 lowercase hex digits, then ':'.
const hdrLen = 17

// ErrForeignData is returned (wrapped, together with session.ErrCorrupt)
// when a key under the store's prefix holds something this package did not
// write: a value of another Redis type (WRONGTYPE) or a string without the
// record header.
var ErrForeignData = fmt.Errorf("redisstore: key holds data that is not a sessionkit record: %w", session.ErrCorrupt)

// foreignMarker is the error code the update script replies with when it
// finds a string without the record header.
const foreignMarker = "SESSIONKIT_FOREIGN"

// setScript is the compare-and-swap behind SetVersion. It runs atomically
// on the server and touches one key, so in a Cluster it runs on the node
// that owns the key's slot.
//
//	KEYS[1] the record's key
//	ARGV[1] the expected header ("" when the key must not exist)
//	ARGV[2] the new value: a fresh header followed by the data
//	ARGV[3] time to live in milliseconds; "0" deletes the record instead
//
// It returns 1 when it wrote (or deleted) and 0 on a version mismatch. It
// also returns 1, writing nothing, when the key already holds the header of
// ARGV[2]: go-redis resends a command whose reply was lost, and the
// resent script must not report its own write as a conflict. The header is
// a fresh random version, so no other write holds it.
var setScript = redis.NewScript(`
local cur = redis.call('GETRANGE', KEYS[1], 0, 16)
local foreign
if cur == '' then
  foreign = redis.call('EXISTS', KEYS[1]) == 1
else
  foreign = #cur ~= 17 or cur == '0000000000000000:' or not string.find(cur, '^[0-9a-f]+:$')
end
if foreign then
  return redis.error_reply('` + foreignMarker + ` value is not a sessionkit record')
end
if cur ~= ARGV[1] then
  if cur ~= '' and cur == string.sub(ARGV[2], 1, 17) then
    return 1
  end
  return 0
end
if ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`)

// Store is a session.VersionedStore that keeps each session in one Redis
// string key with a native TTL. It also implements session.Lister, and
// offers Clear and Len. A Store is safe for concurrent use.
// See the package documentation for the data layout.
type Store struct {
	c       redis.UniversalClient
	own     bool // the Store made c and closes it
	prefix  string
	match   string // SCAN pattern for every key under prefix
	closeMu sync.Mutex
	closed  bool
}

// An Option configures a Store in New or NewFromURL.
type Option func(*Store) error

// WithPrefix sets the string every key of the store starts with; the
// default is DefaultPrefix. Stores with different prefixes share a
// database without seeing each other's records, as long as neither prefix
// starts with the other: Clear on "app:" would also delete the keys of
// "app:admin:". The prefix must not be empty (Clear would otherwise delete
// the whole database) and should not contain a Cluster hash tag ("{...}"),
// which would put every session in one slot.
func WithPrefix(p string) Option {
	return func(s *Store) error {
		if p == "" {
			return errors.New("redisstore: empty key prefix; Clear would delete the whole database")
		}
		s.prefix = p
		return nil
	}
}

// New returns a Store that keeps sessions through c, which may be any
// go-redis client: a *redis.Client for one node or for Sentinel
// (redis.NewFailoverClient), a *redis.ClusterClient, or whatever
// redis.NewUniversalClient returns. The Store does not close c.
//
// Set ContextTimeoutEnabled in c's options so that request contexts bound
// how long a command may take; otherwise only c's own timeouts do.
//
// New returns an error if c is nil or an option is invalid (an empty
// prefix).
func New(c redis.UniversalClient, opts ...Option) (*Store, error) {
	return newStore(c, false, opts)
}

func newStore(c redis.UniversalClient, own bool, opts []Option) (*Store, error) {
	if c == nil {
		return nil, errors.New("redisstore: nil client")
	}
	s := &Store{c: c, own: own, prefix: DefaultPrefix}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.match = globEscape(s.prefix) + "*"
	return s, nil
}

// NewFromURL returns a Store on a client it makes from rawURL, which Close
// closes. It accepts what redis.ParseURL does — redis://[user:pass@]host:port/db,
// rediss:// for TLS, unix:///path.sock — and a Cluster given by repeated addr
// parameters, as redis.ParseClusterURL reads them:
// redis://host1:port1?addr=host2:port2&addr=host3:port3. The client is made
// with ContextTimeoutEnabled, so request contexts bound every command.
// NewFromURL does not connect; the first command does.
func NewFromURL(rawURL string, opts ...Option) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	var c redis.UniversalClient
	if u.Query().Has("addr") {
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
		o.ContextTimeoutEnabled = true
		c = redis.NewClusterClient(o)
	} else {
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
		o.ContextTimeoutEnabled = true
		c = redis.NewClient(o)
	}
	s, err := newStore(c, true, opts)
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

// Client returns the client the Store uses, for instance to attach a hook
// such as a CommandCounter to a client made by NewFromURL.
func (s *Store) Client() redis.UniversalClient { return s.c }

// Prefix returns the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// ownerSeg starts, after the prefix, the keys of the owner index: one
// sorted set per owner, whose members are the owner's session keys scored
// by their expiry in Unix milliseconds. Session keys never contain ':'.
const ownerSeg = "owner:"

// ownerKey returns the index key of owner; the owner is hashed, so any
// string works and the key does not show it.
func (s *Store) ownerKey(owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return s.prefix + ownerSeg + hex.EncodeToString(sum[:16])
}

// isIndexKey reports whether the full key k belongs to the owner index,
// which Range and Len skip.
func (s *Store) isIndexKey(k string) bool { return strings.HasPrefix(k[len(s.prefix):], ownerSeg) }

// addOwnerScript records a session under its owner, keeping the latest
// expiry, drops members that have expired, and lets the set itself expire
// with its last member.
//
//	KEYS[1] the owner's index key
//	ARGV[1] the session's expiry (Unix ms), ARGV[2] its key, ARGV[3] now (Unix ms)
var addOwnerScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[1], top[2]) end
return 1
`)

// AddOwner implements session.OwnerIndex with one script on the owner's
// sorted set (ZADD GT: Redis 6.2 or later).
func (s *Store) AddOwner(ctx context.Context, owner, key string, expiry time.Time) error {
	err := addOwnerScript.Run(ctx, s.c, []string{s.ownerKey(owner)}, expiry.UnixMilli(), key, time.Now().UnixMilli()).Err()
	if err != nil {
		return wrap("add owner", err)
	}
	return nil
}

// Owned implements session.OwnerIndex with one ZRANGEBYSCORE over the
// members that have not expired.
func (s *Store) Owned(ctx context.Context, owner string) ([]string, error) {
	keys, err := s.c.ZRangeByScore(ctx, s.ownerKey(owner), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(time.Now().UnixMilli(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, wrap("owned", err)
	}
	return keys, nil
}

// RemoveOwner implements session.OwnerIndex with one ZREM.
func (s *Store) RemoveOwner(ctx context.Context, owner string, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	members := make([]any, len(keys))
	for i, k := range keys {
		members[i] = k
	}
	if err := s.c.ZRem(ctx, s.ownerKey(owner), members...).Err(); err != nil {
		return wrap("remove owner", err)
	}
	return nil
}

// Close closes the client if NewFromURL made it, and does nothing for a
// client passed to New. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if !s.own || s.closed {
		return nil
	}
	s.closed = true
	return s.c.Close()
}

// Get implements session.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	data, _, err := s.GetVersion(ctx, key)
	return data, err
}

// GetVersion implements session.VersionedStore with one GET.
func (s *Store) GetVersion(ctx context.Context, key string) ([]byte, uint64, error) {
	b, err := s.c.Get(ctx, s.prefix+key).Bytes()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, 0, session.ErrNotFound
		}
		return nil, 0, wrap("get", err)
	}
	v, ok := parseHeader(b)
	if !ok {
		return nil, 0, fmt.Errorf("redisstore: get: %w", ErrForeignData)
	}
	return b[hdrLen:], v, nil
}

// Set implements session.Store with one SET (PX), or one UNLINK when data
// is empty or expiry has passed. It gives the record a new version, so a
// concurrent SetVersion that loaded the old one fails.
func (s *Store) Set(ctx context.Context, key string, data []byte, expiry time.Time) error {
	ms := ttlMillis(expiry)
	if len(data) == 0 || ms == 0 {
		return s.Delete(ctx, key)
	}
	value, _ := record(data)
	if err := s.c.Set(ctx, s.prefix+key, value, time.Duration(ms)*time.Millisecond).Err(); err != nil {
		return wrap("set", err)
	}
	return nil
}

// SetVersion implements session.VersionedStore with one EVALSHA of a Lua
// script that compares the stored version and writes the record with its
// TTL atomically (the first call on a server that lacks the script also
// sends an EVAL). Empty data or a passed expiry delete the record if the
// version matches.
func (s *Store) SetVersion(ctx context.Context, key string, data []byte, expiry time.Time, version uint64) (uint64, error) {
	ms := ttlMillis(expiry)
	var want []byte
	if version != 0 {
		var h [hdrLen]byte
		putHeader(h[:], version)
		want = h[:]
	}
	var (
		value []byte
		ver   uint64
	)
	if len(data) > 0 && ms > 0 {
		value, ver = record(data)
	} else {
		ms = 0
	}
	n, err := setScript.Run(ctx, s.c, []string{s.prefix + key}, want, value, ms).Int()
	if err != nil {
		return 0, wrap("set version", err)
	}
	if n != 1 {
		return 0, session.ErrConflict
	}
	return ver, nil
}

// Delete implements session.Store with one UNLINK.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.c.Unlink(ctx, s.prefix+key).Err(); err != nil {
		return wrap("delete", err)
	}
	return nil
}

// record returns a new value holding a fresh header and data. It is not
// pooled: a hook may keep a command's arguments after the command returns.
func record(data []byte) ([]byte, uint64) {
	b := make([]byte, hdrLen+len(data))
	v := newVersion()
	putHeader(b, v)
	copy(b[hdrLen:], data)
	return b, v
}

// newVersion returns a random version in [1, 2^63). math/rand/v2's global
// generator is a ChaCha8 stream seeded from the operating system, separately
// in every process, so versions never need coordination between servers.
func newVersion() uint64 {
	for {
		if v := rand.Uint64() >> 1; v != 0 {
			return v
		}
	}
}

const hexDigits = "0123456789abcdef"

// putHeader writes the header of version v into b[:hdrLen].
func putHeader(b []byte, v uint64) {
	for i := 15; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	b[16] = ':'
}

// parseHeader returns the version in the header at the start of b, and
// false if b does not start with a well-formed header of a nonzero version.
func parseHeader(b []byte) (uint64, bool) {
	if len(b) < hdrLen || b[16] != ':' {
		return 0, false
	}
	var v uint64
	for _, c := range b[:16] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, v != 0
}

// ttlMillis returns the time to live until expiry in whole milliseconds,
// rounded up, or 0 if expiry has passed. A relative TTL (PX) is used rather
// than an absolute one (PXAT) so that clock skew between the application and
// Redis does not shorten or stretch sessions.
func ttlMillis(expiry time.Time) int64 {
	d := time.Until(expiry)
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// globEscape escapes the glob metacharacters of SCAN's MATCH in p. It
// works byte by byte, as Redis matches, so a prefix that is not valid UTF-8
// passes through unchanged (ranging over runes would turn each invalid byte
// into U+FFFD and the pattern would match nothing).
func globEscape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isWrongType(err error) bool { return redis.HasErrorPrefix(err, "WRONGTYPE") }

// wrap annotates an error from go-redis, marking foreign data with
// ErrForeignData; the original error stays reachable with errors.Is/As.
func wrap(op string, err error) error {
	if isWrongType(err) || strings.Contains(err.Error(), foreignMarker) {
		return fmt.Errorf("redisstore: %s: %w: %w", op, ErrForeignData, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// Interface checks.
var (
	_ session.VersionedStore = (*Store)(nil)
	_ session.Lister         = (*Store)(nil)
	_ session.OwnerIndex     = (*Store)(nil)
)
