package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// maxCASAttempts bounds how often a commit retries against concurrent
// writers before it reports the conflict; the request's context deadline
// bounds it too.
const maxCASAttempts = 64

// moveMarkerTTL is how long the marker Regenerate leaves under the old key
// lives (at most until the old session's own deadline). A request that
// loaded the old record before the move and commits within it learns that
// the session moved; after it, its commit finds nothing, as after a logout.
const moveMarkerTTL = 5 * time.Minute

// A Handle links one request to its Manager: it loads the session lazily
// and commits it once. Adapters embed a Handle in their per-request value
// and call Init (one allocation per request, all told), call Commit just
// before the response headers are written, and call Commit again after the
// handler returns, to commit an untouched response and to learn of changes
// made too late.
//
// A Handle is safe for concurrent use by the goroutines serving its
// request. It must not be used after the request ends.
type Handle struct {
	m         *Manager
	x         Exchange
	mu        sync.Mutex
	loaded    bool
	committed bool
	hadCookie bool
	// A Gate's state, here where the padding after the bools holds it.
	gate         uint8
	keepEncoding bool
	err          error    // the load error, or the one a Gate failed with
	sess         *Session // allocated at the first load: an untouched request carries only the Handle
}

// Init prepares h, which must be new or zero, for one request described by
// x.
func (h *Handle) Init(m *Manager, x Exchange) {
	h.m, h.x = m, x
}

// Manager returns the Manager h belongs to.
func (h *Handle) Manager() *Manager { return h.m }

// Session returns the request's session, loading it from the store on the
// first call. A request without a usable cookie, or whose cookie finds no
// live record for this client, gets a new empty session with a fresh
// server-made ID. The error wraps ErrStore when the store failed and
// ErrCorrupt when the stored record could not be decoded; in both cases
// there is no session, so nothing can later overwrite the stored data.
// Later calls return the same result.
func (h *Handle) Session() (*Session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.loaded {
		return h.sess, nil
	}
	if h.err != nil {
		return nil, h.err
	}
	if err := h.load(); err != nil {
		h.err = err
		h.m.event(h.x.Context(), EventLoadFailed)
		if errors.Is(err, ErrCorrupt) {
			h.m.event(h.x.Context(), EventCorrupt)
		}
		return nil, err
	}
	h.loaded = true
	if h.sess.isNew {
		h.m.event(h.x.Context(), EventLoadedNew)
	} else {
		h.m.event(h.x.Context(), EventLoaded)
	}
	if h.committed {
		h.sess.committed = true // loaded after the headers went out: read-only
	}
	return h.sess, nil
}

// pickID returns the session ID carried by the request's cookies, or ""
// when there is none, the values are not all the same (ambiguous, as when a
// sibling domain tosses in a second cookie of the same name), or it is not
// a well-formed ID.
func pickID(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	id := vals[0]
	for _, v := range vals[1:] {
		if v != id {
			return ""
		}
	}
	if !ValidID(id) {
		return ""
	}
	return id
}

func (h *Handle) load() error {
	if h.sess == nil {
		h.sess = new(Session)
	}
	m, s := h.m, h.sess
	s.h = h
	ctx, cancel := h.storeContext()
	defer cancel()
	now := m.now()
	if id := h.requestID(); id != "" {
		key := m.fingerprint(id, h.x)
		rec := storedPool.Get().(*stored)
		defer func() { *rec = stored{}; storedPool.Put(rec) }()
		err := m.getInto(ctx, key, rec)
		follower := false
		for depth := 0; err == nil && rec.MovedTo != "" && rec.GraceUntil.After(now) && depth < maxMoves; depth++ {
			// Rotated within its grace period: the old ID resolves to the
			// session under its new key.
			key, follower = rec.MovedTo, true
			err = m.getInto(ctx, key, rec)
		}
		switch {
		case err == nil:
			// A marker left by Regenerate (or a rotation past its grace):
			// the old ID finds nothing.
			if rec.MovedTo == "" && now.Before(m.deadline(rec.Created, rec.Accessed)) {
				s.id, s.idBorrowed = id, true
				s.key, s.oldKey, s.version, s.oldRaw = key, key, rec.version, rec.raw
				s.created, s.accessed = rec.Created.UnixNano(), rec.Accessed.UnixNano()
				s.values, s.flashes = rec.Values, rec.Flashes
				if rec.Persist != PersistDefault || rec.Owner != "" {
					s.ext = &sessionExt{persist: rec.Persist, owner: rec.Owner, userAgent: rec.UserAgent, clientIP: rec.ClientIP}
				}
				s.follower = follower
				return nil
			}
			// Past a deadline: the store kept it longer than we allow.
		case errors.Is(err, ErrNotFound):
		default:
			return err
		}
	}
	s.isNew = true
	s.created, s.accessed = now.UnixNano(), now.UnixNano()
	return nil
}

// requestID returns the session ID the request carries, in the cookie or,
// with WithTokenHeader, in the header, or "" for none.
func (h *Handle) requestID() string {
	if name := h.m.tokenHeader; name != "" {
		v := h.x.Header(name)
		h.hadCookie = v != ""
		if !ValidID(v) {
			return ""
		}
		return v
	}
	vals := h.x.Cookies(h.m.cookieName)
	h.hadCookie = len(vals) > 0
	return pickID(vals)
}

// stored is a record as loaded: decoded, with its encoding and version.
type stored struct {
	Record
	raw     []byte // as the store returned it; never modified
	version uint64
}

// get loads and decodes the record under key, with its version when the
// store has versions. Its errors wrap ErrNotFound, ErrStore or ErrCorrupt;
// with ErrCorrupt the version is still set.
func (m *Manager) get(ctx context.Context, key string) (stored, error) {
	var st stored
	err := m.getInto(ctx, key, &st)
	return st, err
}

// storedPool recycles the records loads decode into: a stored escapes to
// the heap (the codec is an interface) and is too big to allocate on
// every request.
var storedPool = sync.Pool{New: func() any { return new(stored) }}

// getInto is get into st, which it overwrites.
func (m *Manager) getInto(ctx context.Context, key string, st *stored) error {
	var err error
	*st = stored{}
	st.raw, st.version, err = m.storeGet(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		*st = stored{}
		return ErrNotFound
	case err != nil:
		*st = stored{}
		return fmt.Errorf("%w: load: %w", ErrStore, err)
	}
	if _, ok := m.codec.(BinaryCodec); ok {
		err = decodeShared(st.raw, &st.Record) // a Store never modifies what Get returned
	} else {
		err = m.codec.Decode(st.raw, &st.Record)
	}
	if err != nil {
		*st = stored{version: st.version}
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

// Commit writes the session to the store and sets the cookie, if the
// request changed anything that needs it. Adapters call it just before the
// response headers are written, and again when the handler returns.
//
// The first call does the work; its error wraps ErrStore when the store
// failed, ErrCorrupt when the record to merge onto could not be decoded,
// and ErrConflict when the request's changes could not be applied (the
// session was regenerated by a concurrent request). Later calls return
// nil, or ErrLateChange if the session was changed after the first call
// (those changes are not saved, and the Manager's logger records which
// keys). An untouched session costs nothing.
func (h *Handle) Commit() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	first := !h.committed
	h.committed = true
	if !h.loaded {
		return nil
	}
	s := h.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if first && !s.committed {
		s.committed = true
		err := h.save(s)
		if err != nil {
			h.m.event(h.x.Context(), EventCommitFailed)
		}
		return err
	}
	if s.ext != nil && len(s.ext.late) > 0 {
		keys := s.ext.late
		s.ext.late = nil
		h.m.logger.Warn("sessionkit: session changed after the response headers were sent; change not saved",
			"keys", keys)
		return fmt.Errorf("%w (keys %v)", ErrLateChange, keys)
	}
	return nil
}

// storeContext returns the context for the store calls of one load or
// commit: the request's, bounded by WithStoreTimeout when set.
func (h *Handle) storeContext() (context.Context, context.CancelFunc) {
	ctx := h.x.Context()
	if h.m.storeTimeout > 0 {
		return context.WithTimeout(ctx, h.m.storeTimeout)
	}
	return ctx, func() {}
}

// save commits s; the caller holds both locks. The operations go to the
// store in this order: the destroyed record goes first (a logout must
// never depend on anything else succeeding), then the session is written,
// and the cookie is set last, so a client only hears of an ID whose record
// exists.
func (h *Handle) save(s *Session) error {
	m := h.m
	var write bool
	switch {
	case s.moveOld:
		write = true
	case s.isNew:
		write = len(s.values) > 0 || len(s.flashes) > 0 || s.regenerate || s.rotate || s.touched ||
			s.ownerSet || (m.saveNew && !s.destroyOld)
	default:
		write = len(s.ops) > 0 || s.cleared || s.flashAdds > 0 || s.flashPops > 0 || s.touched ||
			s.persistSet || s.ownerSet || m.idleTimeout > 0 // the touch is decided below, with the clock
	}
	if !write && !s.destroyOld {
		return nil // only read: no clock, no context, no store call
	}
	ctx, cancel := h.storeContext()
	defer cancel()
	now := m.now()
	if write && !s.isNew && !s.moveOld && m.idleTimeout > 0 && len(s.ops) == 0 && !s.cleared &&
		s.flashAdds == 0 && s.flashPops == 0 && !s.touched && !s.persistSet && !s.ownerSet {
		write = now.Sub(time.Unix(0, s.accessed)) >= m.touchEvery // the idle deadline is due a push
	}

	if s.destroyOld {
		if _, err := m.destroy(ctx, s.oldKey, s.version, 0); err != nil {
			return err
		}
	}
	if write {
		if s.id == "" {
			s.id = newID()
		}
		if s.key == "" {
			s.key = m.fingerprint(s.id, h.x)
		}
		// The owner index learns of a key before the key holds the
		// session, so that a revocation never misses a session it lists
		// too early; a key indexed in vain is pruned when listed.
		if idx, ok := m.store.(OwnerIndex); ok && s.ext != nil && s.ext.owner != "" && (s.ownerSet || s.isNew) {
			cctx, done := m.call(ctx, "add_owner")
			err := idx.AddOwner(cctx, s.ext.owner, s.key, time.Unix(0, s.created).Add(m.lifetime))
			done(err)
			if err != nil {
				return fmt.Errorf("%w: index owner: %w", ErrStore, err)
			}
		}
		var err error
		switch {
		case s.moveOld:
			write, err = h.move(ctx, s, now)
		case s.isNew:
			err = h.create(ctx, s, now)
		default:
			write, err = h.update(ctx, s, now)
		}
		if err != nil {
			return err
		}
		if write {
			m.event(ctx, EventCommitted)
		}
	}
	persistent := m.persistent
	if s.ext != nil && s.ext.persist != PersistDefault {
		persistent = s.ext.persist == PersistOn
	}
	switch {
	case write && !s.follower && (s.isNew || s.persistSet || (persistent && m.idleTimeout > 0)):
		// A new ID, a new persistence choice, or a deadline that moved.
		h.issue(s.id, m.deadline(time.Unix(0, s.created), time.Unix(0, s.accessed)), persistent, now)
	case s.destroyOld && !write && h.hadCookie:
		h.issue("", now, false, now)
	}
	return nil
}

// issue hands the client the session ID id, valid until deadline, in the
// cookie or, with WithTokenHeader, in the response header; an empty id
// tells the client to drop what it has.
func (h *Handle) issue(id string, deadline time.Time, persistent bool, now time.Time) {
	if name := h.m.tokenHeader; name != "" {
		h.x.SetHeader(name, id)
		return
	}
	h.x.SetCookie(h.m.cookie(id, deadline, persistent, now))
}

// localRecord is the request's view of the session as a record.
func (s *Session) localRecord(now time.Time) Record {
	r := s.meta()
	r.Created, r.Accessed, r.Values, r.Flashes = time.Unix(0, s.created), now, s.values, s.flashes
	return r
}

// mergeOnto returns latest with this request's operations applied. It
// reuses latest's map and slice, which the caller decoded for it.
func (s *Session) mergeOnto(latest Record, now time.Time) Record {
	vals := latest.Values
	if s.cleared || vals == nil {
		vals = make(map[string]any, len(s.ops))
	}
	for _, o := range s.ops {
		switch o.kind {
		case opSet:
			vals[o.key] = s.values[o.key]
		case opDelete:
			delete(vals, o.key)
		case opAdd:
			n, _ := toInt(vals[o.key])
			vals[o.key] = n + o.delta
		}
	}
	flashes := latest.Flashes[min(int(s.flashPops), len(latest.Flashes)):]
	if s.flashAdds > 0 {
		flashes = append(slices.Clip(flashes), s.flashes[len(s.flashes)-int(s.flashAdds):]...)
	}
	latest.Accessed, latest.Values, latest.Flashes = now, vals, flashes
	if s.persistSet {
		latest.Persist = s.ext.persist
	}
	if s.ownerSet {
		latest.Owner, latest.UserAgent, latest.ClientIP = s.ext.owner, s.ext.userAgent, s.ext.clientIP
	}
	return latest
}

// adopt makes rec, just written at version, the request's view.
func (s *Session) adopt(rec Record, version uint64) {
	s.version = version
	s.created, s.accessed = rec.Created.UnixNano(), rec.Accessed.UnixNano()
	s.values, s.flashes = rec.Values, rec.Flashes
}

// encode encodes rec into the Manager's pooled buffer bp.
func (m *Manager) encode(bp *[]byte, rec *Record) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	if bc, ok := m.codec.(BinaryCodec); ok {
		data, err = bc.Encode((*bp)[:0], rec) // a direct call: rec does not escape
	} else {
		r := *rec // escapes into the interface call; rec itself stays on the stack
		data, err = m.codec.Encode((*bp)[:0], &r)
	}
	if err != nil {
		return nil, fmt.Errorf("session: encode: %w", err)
	}
	*bp = data
	return data, nil
}

// create stores a session new to this request under s.key.
func (h *Handle) create(ctx context.Context, s *Session, now time.Time) error {
	m := h.m
	bp := m.getBuf()
	defer m.putBuf(bp)
	rec := s.localRecord(now)
	data, err := m.encode(bp, &rec)
	if err != nil {
		return err
	}
	expiry := m.deadline(rec.Created, rec.Accessed)
	if m.versioned == nil {
		if err := m.storeSet(ctx, s.key, data, expiry); err != nil {
			return fmt.Errorf("%w: save: %w", ErrStore, err)
		}
	} else {
		// Version 0: a 256-bit random ID never finds a record; if one is
		// there, something is badly wrong and must not be overwritten.
		ver, err := m.storeSetVersion(ctx, s.key, data, expiry, 0)
		if err != nil {
			return fmt.Errorf("%w: save: %w", ErrStore, err)
		}
		s.version = ver
	}
	s.accessed = now.UnixNano()
	m.event(ctx, EventCreated)
	return nil
}

// update applies the request's operations to the stored session under
// s.oldKey with compare-and-swap, re-reading and merging after every
// conflict. It reports false, writing nothing, when the session is gone: a
// concurrent logout (or expiry) wins. If the session was rotated meanwhile
// the operations follow it to its new key; if it was regenerated they are
// refused with ErrConflict.
func (h *Handle) update(ctx context.Context, s *Session, now time.Time) (bool, error) {
	m := h.m
	bp := m.getBuf()
	defer m.putBuf(bp)
	rec, key, version := s.localRecord(now), s.oldKey, s.version
	for attempt := 1; ; attempt++ {
		data, err := m.encode(bp, &rec)
		if err != nil {
			return false, err
		}
		expiry := m.deadline(rec.Created, rec.Accessed)
		if m.versioned == nil {
			if err := m.storeSet(ctx, key, data, expiry); err != nil {
				return false, fmt.Errorf("%w: save: %w", ErrStore, err)
			}
			s.adopt(rec, 0)
			return true, nil
		}
		ver, err := m.storeSetVersion(ctx, key, data, expiry, version)
		if err == nil {
			s.adopt(rec, ver)
			s.oldKey = key
			return true, nil
		}
		latest, err := h.conflict(ctx, err, attempt, key)
		for depth := 0; err == nil && latest != nil && latest.MovedTo != "" && !latest.GraceUntil.IsZero() && depth < maxMoves; depth++ {
			// Rotated: the request loaded the old key before the move and
			// follows the session to its new one.
			key, s.follower = latest.MovedTo, true
			latest, err = h.reload(ctx, key)
		}
		if err != nil {
			return false, err
		}
		if latest == nil {
			return false, nil // destroyed meanwhile: the logout wins
		}
		if latest.MovedTo != "" {
			return false, fmt.Errorf("%w: the session was regenerated by a concurrent request; this request's changes were not saved", ErrConflict)
		}
		if len(s.ops) == 0 && !s.cleared && s.flashAdds == 0 && s.flashPops == 0 && !s.persistSet && !s.ownerSet {
			return true, nil // only a touch, and the other writer touched it
		}
		rec, version = s.mergeOnto(latest.Record, now), latest.version
	}
}

// move is the commit of Regenerate on a stored session: it writes the
// latest record under s.oldKey, with the request's operations applied, to
// the new key s.key, then replaces the old record with a marker at the
// version it merged. If the old record changed meanwhile it merges again;
// if it is gone (a logout, a revocation), it removes the new record and
// reports false: nothing of the old session survives under the new ID.
func (h *Handle) move(ctx context.Context, s *Session, now time.Time) (bool, error) {
	m := h.m
	bp := m.getBuf()
	defer m.putBuf(bp)
	rec, oldVer, oldRaw, oldDeadline := s.localRecord(now), s.version, s.oldRaw, m.deadline(time.Unix(0, s.created), time.Unix(0, s.accessed))
	if m.versioned == nil {
		data, err := m.encode(bp, &rec)
		if err != nil {
			return false, err
		}
		if err := m.storeSet(ctx, s.key, data, m.deadline(rec.Created, rec.Accessed)); err != nil {
			return false, fmt.Errorf("%w: save: %w", ErrStore, err)
		}
		if err := m.storeDelete(ctx, s.oldKey); err != nil {
			return false, fmt.Errorf("%w: delete: %w", ErrStore, err)
		}
		s.adopt(rec, 0)
		return true, nil
	}
	var newVer uint64 // 0 until the new record exists
	abandon := func(err error) (bool, error) {
		if newVer != 0 {
			// Best effort: the new ID was never handed out, so a record
			// left behind is unreachable and expires.
			_ = m.storeDelete(context.WithoutCancel(ctx), s.key)
		}
		return false, err
	}
	for attempt := 1; ; attempt++ {
		data, err := m.encode(bp, &rec)
		if err != nil {
			return abandon(err)
		}
		expiry := m.deadline(rec.Created, rec.Accessed)
		if newVer, err = m.storeSetVersion(ctx, s.key, data, expiry, newVer); err != nil {
			return abandon(fmt.Errorf("%w: save: %w", ErrStore, err))
		}
		marker := Record{Created: rec.Created, Accessed: now, MovedTo: s.key}
		mexp := now.Add(moveMarkerTTL)
		if s.rotate && !s.regenerate && m.rotateGrace > 0 {
			marker.GraceUntil = now.Add(m.rotateGrace)
			mexp = now.Add(max(moveMarkerTTL, m.rotateGrace))
		}
		if oldDeadline.Before(mexp) {
			mexp = oldDeadline
		}
		mdata, err := m.encode(bp, &marker)
		if err != nil {
			return abandon(err)
		}
		markerVer, err := m.storeSetVersion(ctx, s.oldKey, mdata, mexp, oldVer)
		if err == nil {
			s.more().undo = &moveUndo{oldRaw: oldRaw, oldExpiry: oldDeadline, markerVer: markerVer}
			s.adopt(rec, newVer)
			return true, nil
		}
		latest, err := h.conflict(ctx, err, attempt, s.oldKey)
		if err != nil {
			return abandon(err)
		}
		if latest == nil {
			return abandon(nil) // destroyed meanwhile: the logout wins
		}
		if latest.MovedTo != "" {
			return abandon(fmt.Errorf("%w: the session was regenerated by a concurrent request", ErrConflict))
		}
		rec, oldVer, oldRaw = s.mergeOnto(latest.Record, now), latest.version, latest.raw
		oldDeadline = m.deadline(latest.Created, latest.Accessed)
	}
}

// moveUndo is what Abandon needs to undo a committed move.
type moveUndo struct {
	oldRaw    []byte    // the old record at the version that was moved
	oldExpiry time.Time // its deadline
	markerVer uint64    // the version of the marker that replaced it
}

// Abandon tells h that the response carrying its commit never reached the
// client: a wrapper outside the adapter (http.TimeoutHandler, say) threw
// it away after the session was committed into its buffer. If that commit
// moved the session to a new ID (Regenerate), the move is undone: the old
// ID gets its record back as it was before the move, and the new record,
// whose ID no client has, is removed. The login the response would have
// completed did not happen, but nothing is lost and the client's cookie
// keeps working. Other commits stand. Adapters call Abandon; it is safe to
// call when nothing was moved.
func (h *Handle) Abandon() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.loaded {
		return nil
	}
	s := h.sess
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ext == nil || s.ext.undo == nil || h.m.versioned == nil {
		return nil
	}
	u := s.ext.undo
	s.ext.undo = nil
	// The request is usually over by now: do not let its context cancel
	// the repair.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.x.Context()), cmp.Or(h.m.storeTimeout, abandonTimeout))
	defer cancel()
	_, err := h.m.storeSetVersion(ctx, s.oldKey, u.oldRaw, u.oldExpiry, u.markerVer)
	if err != nil && !errors.Is(err, ErrConflict) { // a conflict: destroyed meanwhile, nothing to restore
		return fmt.Errorf("%w: undo a move: %w", ErrStore, err)
	}
	if err := h.m.storeDelete(ctx, s.key); err != nil {
		return fmt.Errorf("%w: undo a move: %w", ErrStore, err)
	}
	return nil
}

// abandonTimeout bounds Abandon's store calls when WithStoreTimeout does
// not.
const abandonTimeout = 5 * time.Second

// conflict handles a failed compare-and-swap on key: unless err is a
// conflict that may be retried, it returns the error to give up with;
// otherwise it waits its turn and returns the latest record, or nil if
// there is none any more.
func (h *Handle) conflict(ctx context.Context, err error, attempt int, key string) (*stored, error) {
	if !errors.Is(err, ErrConflict) {
		return nil, fmt.Errorf("%w: save: %w", ErrStore, err)
	}
	if attempt == maxCASAttempts {
		return nil, fmt.Errorf("%w: save: %w after %d attempts", ErrStore, err, attempt)
	}
	h.m.event(ctx, EventConflict)
	if err := backoff(ctx, attempt); err != nil {
		return nil, fmt.Errorf("%w: save: %w", ErrStore, err)
	}
	return h.reload(ctx, key)
}

// reload returns the latest record under key, or nil if there is none.
func (h *Handle) reload(ctx context.Context, key string) (*stored, error) {
	latest, err := h.m.get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &latest, nil
}

// takeFlashes removes the stored flash messages of s from the store with
// compare-and-swap and returns them; the caller holds s.mu. It reports
// false when it could not, and the caller falls back to removing them at
// the commit.
func (h *Handle) takeFlashes(s *Session) ([]any, bool) {
	m := h.m
	ctx, cancel := h.storeContext()
	defer cancel()
	bp := m.getBuf()
	defer m.putBuf(bp)
	for attempt := 1; attempt <= maxCASAttempts; attempt++ {
		rec, err := m.get(ctx, s.oldKey)
		ver := rec.version
		if err != nil || rec.MovedTo != "" {
			return nil, false
		}
		taken := rec.Flashes
		if len(taken) == 0 {
			return nil, true // a concurrent request took them
		}
		rec.Flashes = nil
		data, err := m.encode(bp, &rec.Record)
		if err != nil {
			return nil, false
		}
		nv, err := m.storeSetVersion(ctx, s.oldKey, data, m.deadline(rec.Created, rec.Accessed), ver)
		if err == nil {
			if ver == s.version {
				s.version = nv // the record is the loaded one but for the flashes
			}
			return taken, true
		}
		if !errors.Is(err, ErrConflict) || attempt == maxCASAttempts {
			return nil, false
		}
		m.event(ctx, EventConflict)
		if backoff(ctx, attempt) != nil {
			return nil, false
		}
	}
	return nil, false
}

// backoff waits before the next compare-and-swap attempt: not at all after
// the first conflict (a single concurrent writer is the common case), then
// a random time up to a bound that doubles from 100µs to 20ms, so that many
// writers on one session take turns instead of colliding again in lockstep
// over a network round trip. It returns the context's error if the
// request ends first.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return nil
	}
	limit := min(100*time.Microsecond<<min(attempt-2, 10), 20*time.Millisecond)
	t := time.NewTimer(rand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
