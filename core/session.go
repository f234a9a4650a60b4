package session

import (
	"slices"
	"sync"
	"time"
)

// flashKey is the value key under which flash messages are kept.
const flashKey = "_flash"

// A Session is one client's server-side state for the current request. Get
// it from an adapter's accessor (which calls Handle.Session). All methods
// are safe for concurrent use by the goroutines serving the request; a
// Session must not be used after the request ends.
//
// Changes are recorded and committed just before the response headers go
// out. Changes made after that are not saved and are reported as
// ErrLateChange.
type Session struct {
	mu sync.Mutex
	h  *Handle

	id      string // "" until a new session needs one
	key     string // store key of id, "" until computed
	oldKey  string // the key the session was loaded from
	dropOld bool   // delete oldKey on commit (Destroy, Regenerate)
	isNew   bool   // not stored under key yet
	version uint64 // of the loaded record, for compare-and-swap

	created, accessed time.Time
	values            map[string]any
	changed           []string // keys an existing session's request set or deleted
	changedBuf        [4]string
	cleared           bool
	touched           bool
	destroyed         bool
	regenerated       bool
	committed         bool
	late              []string // what changed after the commit
}

// change records that key was set or deleted; the caller holds s.mu.
func (s *Session) change(key string) {
	if s.committed {
		s.late = append(s.late, key)
		return
	}
	// Only a stored session's changes are merged onto a record another
	// request wrote meanwhile; a new one is written whole.
	if s.isNew || slices.Contains(s.changed, key) {
		return
	}
	if s.changed == nil {
		s.changed = s.changedBuf[:0]
	}
	s.changed = append(s.changed, key)
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
	return s.created
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

// Set stores v under key. The value is encoded at commit, so a later change
// to a value the handler still holds (a slice, a map) is saved only if made
// before the commit. Types other than the ones BinaryCodec encodes natively
// must be registered with gob.Register.
func (s *Session) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change(key)
	if s.committed {
		return
	}
	if s.values == nil {
		s.values = make(map[string]any, 4)
	}
	s.values[key] = v
}

// Delete removes the value stored under key.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change(key)
	if s.committed {
		return
	}
	delete(s.values, key)
}

// Clear removes every value. Unlike Destroy it keeps the session and its
// ID.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		s.late = append(s.late, "(clear)")
		return
	}
	clear(s.values)
	s.changed = s.changed[:0]
	s.cleared = true
}

// Touch marks the session as used, so the commit pushes its idle deadline
// forward (and renews a persistent cookie) even if nothing changed.
func (s *Session) Touch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		s.late = append(s.late, "(touch)")
		return
	}
	s.touched = true
}

// Destroy deletes the session from the store at commit and expires the
// cookie: use it to log out. The Session stays usable as a new, empty
// session: values set after Destroy (a "logged out" flash, say) are saved
// under a fresh ID.
func (s *Session) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		s.late = append(s.late, "(destroy)")
		return
	}
	s.dropOld = s.oldKey != ""
	s.id, s.key, s.isNew, s.version = "", "", true, 0
	s.values, s.changed = nil, nil
	s.cleared, s.touched, s.regenerated = false, false, false
	s.destroyed = true
	s.created = s.h.m.now()
	s.accessed = s.created
}

// Regenerate gives the session a new ID and keeps its values: the old ID
// stops working at commit. Call it whenever privileges change, above all at
// login, so that an ID an attacker planted before login (session fixation)
// is worthless after it.
func (s *Session) Regenerate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		s.late = append(s.late, "(regenerate)")
		return
	}
	s.dropOld = s.oldKey != ""
	s.id, s.key, s.isNew, s.version = newID(), "", true, 0
	s.regenerated = true
}

// AddFlash appends a flash message: a value kept until the next call of
// Flashes, typically on the next request. Flashes live under the reserved
// key "_flash".
func (s *Session) AddFlash(v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.change(flashKey)
	if s.committed {
		return
	}
	list, _ := s.values[flashKey].([]any)
	if s.values == nil {
		s.values = make(map[string]any, 4)
	}
	s.values[flashKey] = append(slices.Clip(list), v)
}

// Flashes returns the flash messages added so far and removes them.
func (s *Session) Flashes() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, _ := s.values[flashKey].([]any)
	if list == nil {
		return nil
	}
	s.change(flashKey)
	if !s.committed {
		delete(s.values, flashKey)
	}
	return list
}
