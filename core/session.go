package session

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// A Session is one client's server-side state for the current request. Get
// it from an adapter's accessor. All methods are safe for concurrent use by
// the goroutines serving the request; a Session must not be used after the
// request ends.
//
// The methods record operations (set, delete, clear, increment, flash,
// touch, regenerate, destroy). They are committed just before the response
// headers go out, applied to the latest stored record, so that concurrent
// requests on one session merge instead of overwriting each other.
// Operations made after the commit are not saved and are reported as
// ErrLateChange.
type Session struct {
	mu sync.Mutex
	h  *Handle

	id      string // "" until a new session needs one
	key     string // store key of id, "" until computed
	oldKey  string // the key the session was loaded from, "" for none
	version uint64 // of the record under oldKey, for compare-and-swap
	oldRaw  []byte // the record under oldKey as loaded, never modified

	// Unix nanoseconds, not time.Time: a Session is allocated on every
	// request that uses it, and this keeps it in a smaller size class.
	created, accessed int64

	// The request's view of the session: the loaded record with this
	// request's operations applied.
	values  map[string]any
	flashes []any

	// This request's operations, for the merge onto the latest record.
	ops       []keyOp
	opsBuf    [2]keyOp
	flashAdds int32 // the last flashAdds entries of flashes were added here
	flashPops int32 // stored flashes this request took out, oldest first

	ext *sessionExt // allocated only when there is something in it

	isNew      bool // not stored under key yet
	idBorrowed bool // id is the Exchange's memory, valid for the request only
	destroyOld bool // Destroy: delete the record under oldKey
	moveOld    bool // Regenerate or Rotate: move the record under oldKey to key
	cleared    bool
	touched    bool
	committed  bool
	regenerate bool // Regenerate was called (the commit writes)
	rotate     bool // Rotate was called: the move leaves a grace period
	follower   bool // loaded through a rotated ID's grace period
	persistSet bool // SetPersistent was called
	ownerSet   bool // SetOwner was called
}

// sessionExt holds what most sessions never need: the owner and cookie
// persistence of the record, what undoes a committed move, and the changes
// made too late.
type sessionExt struct {
	persist                    Persist
	owner, userAgent, clientIP string
	undo                       *moveUndo
	late                       []string
}

// more returns s.ext, allocating it; the caller holds s.mu.
func (s *Session) more() *sessionExt {
	if s.ext == nil {
		s.ext = new(sessionExt)
	}
	return s.ext
}

// meta returns the owner and persistence fields of s as a Record; the
// caller holds s.mu.
func (s *Session) meta() Record {
	if s.ext == nil {
		return Record{}
	}
	return Record{Persist: s.ext.persist, Owner: s.ext.owner, UserAgent: s.ext.userAgent, ClientIP: s.ext.clientIP}
}

// keyOp is what a request did to one key: set it (the value is in
// Session.values), delete it, or add delta to it.
type keyOp struct {
	key   string
	delta int
	kind  opKind
}

type opKind uint8

const (
	opSet opKind = iota
	opDelete
	opAdd
)

// merging reports whether the commit applies this request's operations to
// a stored record (rather than writing a new session whole); the caller
// holds s.mu.
func (s *Session) merging() bool { return s.oldKey != "" && !s.destroyOld }

// record notes this request's operation on key for the merge; the caller
// holds s.mu. An increment stays relative only while nothing absolute was
// done to key (a Set, a Delete, a Clear).
func (s *Session) record(key string, kind opKind, delta int) {
	if !s.merging() {
		return // a new session is written whole
	}
	for i := range s.ops {
		if o := &s.ops[i]; o.key == key {
			if kind == opAdd && o.kind == opAdd {
				o.delta += delta
			} else if kind == opAdd {
				o.kind = opSet // set or deleted earlier: the result is absolute
			} else {
				o.kind, o.delta = kind, 0
			}
			return
		}
	}
	if kind == opAdd && s.cleared {
		kind = opSet
	}
	if s.ops == nil {
		s.ops = s.opsBuf[:0]
	}
	s.ops = append(s.ops, keyOp{key: key, kind: kind, delta: delta})
}

// lateChange records a change made after the commit and reports whether
// there was one; the caller holds s.mu.
func (s *Session) lateChange(what string) bool {
	if s.committed {
		s.more().late = append(s.more().late, what)
	}
	return s.committed
}

// ID returns the session ID, the value of the session cookie. A new
// session gets its ID here or when it is first saved. Treat it as a
// password: do not log it or put it in URLs.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == "" {
		s.id = newID()
	}
	if s.idBorrowed {
		// The cookie's value may live in memory the framework reuses after
		// the request (fasthttp's); the caller may keep the ID longer.
		s.id, s.idBorrowed = strings.Clone(s.id), false
	}
	return s.id
}

// IsNew reports whether the session was created by this request (no usable
// cookie came with it, or it was destroyed or regenerated).
func (s *Session) IsNew() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isNew
}

// CreatedAt returns when the session was first created. Regenerate keeps
// it, so the absolute lifetime cannot be extended by regenerating.
func (s *Session) CreatedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Unix(0, s.created)
}

// Get returns the value stored under key, or nil.
func (s *Session) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values[key]
}

// GetAs returns the value stored under key if it has type T. It reports
// false when the key is missing or holds another type.
func GetAs[T any](s *Session, key string) (T, bool) {
	v, ok := s.Get(key).(T)
	return v, ok
}

// Has reports whether a value is stored under key.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.values[key]
	return ok
}

// Keys returns the keys of all stored values, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Len returns the number of stored values.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}

// Set stores v under key. A concurrent request's write to the same key is
// overwritten; writes to other keys are kept.
//
// The error is not nil when the Manager's codec cannot encode v (with
// BinaryCodec: a type neither native nor registered with Register, or
// nesting deeper than 32 levels), and then nothing is stored; values of the
// native types never fail. It is ErrLateChange when the session was already
// committed. v is encoded at the commit, so changes to a slice or map the
// handler still holds are saved if made before it.
func (s *Session) Set(key string, v any) error {
	if err := s.h.m.checkValue(key, v); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange(key) {
		return fmt.Errorf("%w (key %q)", ErrLateChange, key)
	}
	if s.values == nil {
		s.values = make(map[string]any, 4)
	}
	s.values[key] = v
	s.record(key, opSet, 0)
	return nil
}

// Delete removes the value stored under key.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange(key) {
		return
	}
	delete(s.values, key)
	s.record(key, opDelete, 0)
}

// Incr adds delta to the integer stored under key and returns the result
// as this request sees it. Unlike Get followed by Set, increments merge:
// fifty concurrent requests that each add one raise the stored value by
// fifty. A missing value counts as 0, and so does a value that is not an
// integer (an integral float64, as JSONCodec decodes numbers, counts as
// its value). The value is stored as an int.
func (s *Session) Incr(key string, delta int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := toInt(s.values[key])
	n += delta
	if s.lateChange(key) {
		return n
	}
	if s.values == nil {
		s.values = make(map[string]any, 4)
	}
	s.values[key] = n
	s.record(key, opAdd, delta)
	return n
}

// Clear removes every value. Unlike Destroy it keeps the session, its ID
// and its flashes.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(clear)") {
		return
	}
	clear(s.values)
	s.ops = s.ops[:0]
	s.cleared = true
}

// Touch marks the session as used, so the commit pushes its idle deadline
// forward (and renews a persistent cookie) even if nothing changed.
func (s *Session) Touch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(touch)") {
		return
	}
	s.touched = true
}

// Destroy ends the session: use it to log out. At the commit the stored
// record is deleted (following a concurrent Regenerate to the record it
// moved to), the cookie is expired, and no concurrent request can write
// the session again. The Session stays usable as a new, empty session:
// values set after Destroy (a "logged out" flash, say) are saved under a
// fresh ID.
func (s *Session) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(destroy)") {
		return
	}
	s.destroyOld = s.oldKey != ""
	s.moveOld, s.regenerate, s.rotate, s.follower = false, false, false, false
	s.persistSet, s.ownerSet = false, false
	s.id, s.key, s.isNew = "", "", true
	s.values, s.flashes, s.ops = nil, nil, nil
	s.flashAdds, s.flashPops = 0, 0
	s.cleared, s.touched = false, false
	if s.ext != nil {
		s.ext.persist, s.ext.owner, s.ext.userAgent, s.ext.clientIP = PersistDefault, "", "", ""
	}
	s.created = s.h.m.now().UnixNano()
	s.accessed = s.created
}

// Regenerate gives the session a new ID and keeps its values: call it
// whenever privileges change, above all at login, so that an ID an
// attacker planted before (session fixation) is worthless after it.
//
// At the commit the latest stored record, with this request's operations
// applied, moves to the new ID, and the old ID stops working at once. If
// another request destroyed the session meanwhile, nothing is written and
// the client gets no new cookie: the logout wins. A concurrent request
// that loaded the old record before the move cannot save its changes; its
// commit fails with ErrConflict.
func (s *Session) Regenerate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(regenerate)") {
		return
	}
	s.moveOld = s.oldKey != "" && !s.destroyOld
	s.id, s.key, s.isNew, s.follower = newID(), "", true, false
	s.regenerate = true
}

// Rotate gives the session a new ID without a privilege change, to limit
// how long any one ID is worth stealing. Unlike Regenerate, the old ID
// keeps resolving to the rotated session for the Manager's rotation grace
// period (WithRotateGrace), so requests already in flight with the old
// cookie neither fail nor overwrite the new session; after it the old ID
// finds nothing. Destroy ends the grace at once. Use Regenerate, never
// Rotate, when privileges change.
func (s *Session) Rotate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(rotate)") {
		return
	}
	s.moveOld = s.oldKey != "" && !s.destroyOld
	s.id, s.key, s.isNew, s.follower = newID(), "", true, false
	s.rotate = true
}

// SetPersistent chooses the cookie for this session, overriding
// WithPersistentCookie: on, the cookie carries Max-Age until the session's
// deadline and survives a browser restart ("remember me"); off, it is a
// browser-session cookie. The choice is stored with the session, so every
// cookie issued for it later keeps it. Call it at login.
func (s *Session) SetPersistent(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(persistent)") {
		return
	}
	s.more().persist = PersistOff
	if on {
		s.ext.persist = PersistOn
	}
	s.persistSet = true
}

// SetOwner marks the session as belonging to owner, a user's ID, and
// records the client's User-Agent and IP with it, so that the Manager's
// Sessions, Revoke and RevokeAll can list and end a user's sessions
// without scanning the store. Call it at login, after Regenerate. An empty
// owner unmarks the session.
func (s *Session) SetOwner(owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(owner)") {
		return
	}
	e := s.more()
	e.owner, e.userAgent, e.clientIP = owner, "", ""
	if owner != "" {
		e.userAgent = truncate(s.h.x.Header("User-Agent"), maxUserAgent)
		e.clientIP = truncate(s.h.x.ClientIP(), maxUserAgent)
	}
	s.ownerSet = true
}

// maxUserAgent bounds the User-Agent (and client IP) kept with an owned
// session: enough to tell devices apart, not a way to bloat the record.
const maxUserAgent = 256

func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Clone(s) // the Exchange's memory may be reused
}

// Owner returns the owner set with SetOwner, or "".
func (s *Session) Owner() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ext == nil {
		return ""
	}
	return s.ext.owner
}

// Handle returns the session's handle: the opaque string Manager.Sessions
// reports for it, which Manager.Revoke takes. It is derived from the store
// key by a one-way hash, so it can be shown to the user and is never
// usable as a cookie. A new session that has no ID yet has none ("").
func (s *Session) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == "" {
		if s.id == "" {
			return ""
		}
		s.key = s.h.m.fingerprint(s.id, s.h.x)
	}
	return handleOf(s.key)
}

// AddFlash appends a flash message: a value kept until the next call of
// Flashes, typically on the next request. Messages added by concurrent
// requests are all kept, in the order their requests commit.
func (s *Session) AddFlash(v any) error {
	if err := s.h.m.checkValue("(flash)", v); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lateChange("(flash)") {
		return ErrLateChange
	}
	s.flashes = append(s.flashes, v)
	s.flashAdds++
	return nil
}

// Flashes returns the flash messages not yet read, oldest first, and
// removes them. On a stored session with a VersionedStore it takes the
// stored messages out of the store at once, with compare-and-swap, so
// that each message is returned to exactly one of several concurrent
// requests. If that store call fails, the messages are returned anyway
// and removed at the commit.
func (s *Session) Flashes() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.flashes) == 0 {
		return nil
	}
	if s.lateChange("(flash)") {
		return nil
	}
	stored := len(s.flashes) - int(s.flashAdds)
	out := s.flashes
	if stored > 0 && s.h.m.versioned != nil && s.oldKey != "" && !s.destroyOld {
		if taken, ok := s.h.takeFlashes(s); ok {
			out = append(taken, s.flashes[stored:]...)
			stored = 0
		}
	}
	s.flashPops += int32(stored)
	s.flashes, s.flashAdds = nil, 0
	return out
}

// toInt returns v as an int if it holds an integer (or an integral float,
// as JSON decodes numbers).
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<62 {
			return int(n), true
		}
	case float32:
		if f := float64(n); f == math.Trunc(f) && math.Abs(f) < 1<<62 {
			return int(n), true
		}
	}
	return 0, false
}
