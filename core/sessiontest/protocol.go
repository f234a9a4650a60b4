package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// testProtocol runs a Manager over stores made by newStore and races
// requests on one session, proving the concurrency protocol end to end on
// that store: a commit applies the request's operations to the latest
// record, destroy and revocation win, Regenerate moves the latest state.
// Stores without versions keep last-write-wins and are not held to it.
func testProtocol(t *testing.T, newStore func(t *testing.T) session.Store) {
	setup := func(t *testing.T) *kitEnv {
		t.Helper()
		s := newStore(t)
		if _, ok := s.(session.VersionedStore); !ok {
			t.Skip("store does not implement session.VersionedStore: last write wins")
		}
		m, err := session.NewManager(session.WithStore(s), session.WithStoreTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		e := &kitEnv{t: t, m: m, store: s}
		e.login("ann")
		return e
	}

	t.Run("RegenerateNeverResurrectsADestroyedSession", func(t *testing.T) {
		e := setup(t)
		b := e.load(e.cookie)
		a := e.load(e.cookie)
		a.s.Destroy()
		e.commit(a)
		b.s.Regenerate()
		e.commit(b)
		if c := b.x.LastCookie(); c != nil && c.Value != "" {
			t.Fatal("a Regenerate racing a logout handed out a new session cookie")
		}
		e.noSessionOf("ann")
	})

	t.Run("RegenerateNeverResurrectsARevokedSession", func(t *testing.T) {
		e := setup(t)
		if _, ok := e.store.(session.Lister); !ok {
			t.Skip("store does not implement session.Lister")
		}
		b := e.load(e.cookie)
		if n := e.destroyUser("ann"); n != 1 {
			t.Fatalf("DestroyMatching destroyed %d sessions, want 1", n)
		}
		b.s.Regenerate()
		e.commit(b)
		if c := b.x.LastCookie(); c != nil && c.Value != "" {
			t.Fatal("a Regenerate racing DestroyMatching handed out a new session cookie")
		}
		e.noSessionOf("ann")
	})

	t.Run("RevocationFollowsARegenerateDuringTheSweep", func(t *testing.T) {
		e := setup(t)
		if _, ok := e.store.(session.Lister); !ok {
			t.Skip("store does not implement session.Lister")
		}
		b := e.load(e.cookie)
		b.s.Regenerate()
		hooked := &rangeHook{VersionedStore: e.store.(session.VersionedStore), after: func() { e.commit(b) }}
		m, err := session.NewManager(session.WithStore(hooked))
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.DestroyMatching(context.Background(), func(r session.Record) bool { return r.Values["user"] == "ann" })
		if err != nil || n != 1 {
			t.Fatalf("DestroyMatching = %d, %v; want 1 session destroyed", n, err)
		}
		if c := b.x.LastCookie(); c == nil || !session.ValidID(c.Value) {
			t.Fatal("the Regenerate did not commit during the sweep")
		}
		e.noSessionOf("ann")
		if r := e.load(b.x.LastCookie().Value); !r.s.IsNew() {
			t.Fatal("the session survived under the ID it moved to during the sweep")
		}
	})

	t.Run("RevocationFollowsAMoveTheScanMissed", func(t *testing.T) {
		e := setup(t)
		if _, ok := e.store.(session.Lister); !ok {
			t.Skip("store does not implement session.Lister")
		}
		r := e.load(e.cookie)
		r.s.Regenerate()
		e.commit(r)
		moved := r.x.LastCookie().Value
		// The scan passed the new key's place before the move created it:
		// it sees only the marker under the old key.
		hidden := session.FingerprintIDIPUserAgent(moved, r.x)
		filtered := &rangeFilter{VersionedStore: e.store.(session.VersionedStore), hide: hidden}
		m, err := session.NewManager(session.WithStore(filtered))
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.DestroyMatching(context.Background(), func(r session.Record) bool { return r.Values["user"] == "ann" })
		if err != nil || n != 1 {
			t.Fatalf("DestroyMatching = %d, %v; want the moved session destroyed through its marker", n, err)
		}
		if !e.load(moved).s.IsNew() {
			t.Fatal("the session survived under the ID it moved to")
		}
	})

	t.Run("DestroyFollowsARegenerate", func(t *testing.T) {
		e := setup(t)
		a := e.load(e.cookie)
		b := e.load(e.cookie)
		b.s.Regenerate()
		e.commit(b)
		a.s.Destroy()
		e.commit(a)
		if r := e.load(b.x.LastCookie().Value); !r.s.IsNew() {
			t.Fatal("a logout that loaded the session before a Regenerate left the regenerated session alive")
		}
		e.noSessionOf("ann")
	})

	t.Run("RegenerateKeepsAWriteCommittedMeanwhile", func(t *testing.T) {
		e := setup(t)
		a := e.load(e.cookie)
		b := e.load(e.cookie)
		e.set(b, "cart", "3 apples")
		e.commit(b)
		a.s.Regenerate()
		e.commit(a)
		c := a.x.LastCookie()
		if c == nil || !session.ValidID(c.Value) {
			t.Fatal("Regenerate set no new cookie")
		}
		r := e.load(c.Value)
		if r.s.IsNew() || r.s.Get("cart") != "3 apples" || r.s.Get("user") != "ann" {
			t.Fatalf("after Regenerate: new=%v cart=%v user=%v; want the write committed meanwhile kept",
				r.s.IsNew(), r.s.Get("cart"), r.s.Get("user"))
		}
		if old := e.load(e.cookie); !old.s.IsNew() {
			t.Fatal("the old ID still works after Regenerate")
		}
	})

	t.Run("WriteRacingARegenerateIsNotAcknowledged", func(t *testing.T) {
		e := setup(t)
		a := e.load(e.cookie)
		b := e.load(e.cookie)
		a.s.Regenerate()
		e.commit(a)
		e.set(b, "cart", "3 apples")
		err := b.h.Commit()
		newID := a.x.LastCookie().Value
		if err == nil {
			if r := e.load(newID); r.s.Get("cart") != "3 apples" {
				t.Fatal("a write racing a Regenerate reported success but was not saved")
			}
			return
		}
		if !errors.Is(err, session.ErrConflict) {
			t.Fatalf("commit racing a Regenerate = %v, want success or ErrConflict", err)
		}
	})

	t.Run("ConcurrentIncrementsAllCount", func(t *testing.T) {
		e := setup(t)
		const n = 50
		e.race(n, func(i int, r *kitReq) { r.s.Incr("views", 1) })
		if got := e.load(e.cookie).s.Get("views"); got != n {
			t.Fatalf("after %d concurrent increments views = %v, want %d", n, got, n)
		}
	})

	t.Run("ConcurrentWritesToDifferentKeysAllPersist", func(t *testing.T) {
		e := setup(t)
		const n = 16
		e.race(n, func(i int, r *kitReq) { e.set(r, fmt.Sprint("key", i), i) })
		r := e.load(e.cookie)
		for i := range n {
			if got := r.s.Get(fmt.Sprint("key", i)); got != i {
				t.Fatalf("key%d = %v after %d concurrent writers, want %d", i, got, n, i)
			}
		}
	})

	t.Run("ConcurrentFlashesAreAllKept", func(t *testing.T) {
		e := setup(t)
		const n = 12
		e.race(n, func(i int, r *kitReq) {
			if err := r.s.AddFlash(fmt.Sprint("m", i)); err != nil {
				t.Error(err)
			}
		})
		got := e.popFlashes()
		if len(got) != n {
			t.Fatalf("%d concurrent AddFlash left %d messages: %v", n, len(got), got)
		}
	})

	t.Run("PoppedFlashDoesNotComeBack", func(t *testing.T) {
		e := setup(t)
		r := e.load(e.cookie)
		if err := r.s.AddFlash("first"); err != nil {
			t.Fatal(err)
		}
		e.commit(r)
		a := e.load(e.cookie)
		b := e.load(e.cookie)
		if got := a.s.Flashes(); !slices.Equal(got, []any{"first"}) {
			t.Fatalf("Flashes = %v, want [first]", got)
		}
		e.commit(a)
		if err := b.s.AddFlash("second"); err != nil {
			t.Fatal(err)
		}
		e.commit(b)
		if got := e.popFlashes(); !slices.Equal(got, []any{"second"}) {
			t.Fatalf("after one request popped [first] and another added [second], the next pop = %v", got)
		}
	})

	t.Run("EachFlashIsShownExactlyOnce", func(t *testing.T) {
		e := setup(t)
		r := e.load(e.cookie)
		var want []string
		for i := range 5 {
			want = append(want, fmt.Sprint("old", i))
			if err := r.s.AddFlash(want[i]); err != nil {
				t.Fatal(err)
			}
		}
		e.commit(r)
		const n = 8
		var mu sync.Mutex
		shown := map[string]int{}
		e.race(n, func(i int, r *kitReq) {
			got := r.s.Flashes()
			if err := r.s.AddFlash(fmt.Sprint("new", i)); err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, f := range got {
				shown[fmt.Sprint(f)]++
			}
			mu.Unlock()
		})
		for _, f := range e.popFlashes() {
			shown[fmt.Sprint(f)]++
		}
		for i := range n {
			want = append(want, fmt.Sprint("new", i))
		}
		for _, w := range want {
			if shown[w] != 1 {
				t.Errorf("flash %q shown %d times, want exactly once (all: %v)", w, shown[w], shown)
			}
		}
	})
}

// testFeatures runs the features built on the protocol through a Manager
// on stores made by newStore: rotation with a grace period, remember-me,
// and a user's sessions through the owner index.
func testFeatures(t *testing.T, newStore func(t *testing.T) session.Store) {
	setup := func(t *testing.T, opts ...session.Option) *kitEnv {
		t.Helper()
		s := newStore(t)
		if _, ok := s.(session.VersionedStore); !ok {
			t.Skip("store does not implement session.VersionedStore: last write wins")
		}
		m, err := session.NewManager(append([]session.Option{session.WithStore(s),
			session.WithStoreTimeout(10 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		e := &kitEnv{t: t, m: m, store: s}
		e.login("ann")
		return e
	}
	rotate := func(e *kitEnv) string {
		e.t.Helper()
		r := e.load(e.cookie)
		r.s.Rotate()
		e.commit(r)
		c := r.x.LastCookie()
		if c == nil || !session.ValidID(c.Value) || c.Value == e.cookie {
			e.t.Fatal("Rotate set no new cookie")
		}
		return c.Value
	}

	t.Run("RotatedIDKeepsWorkingDuringTheGrace", func(t *testing.T) {
		e := setup(t, session.WithRotateGrace(time.Minute))
		fresh := rotate(e)
		old := e.load(e.cookie)
		if old.s.IsNew() || old.s.Get("user") != "ann" {
			t.Fatal("the old ID does not resolve to the rotated session during the grace period")
		}
		e.set(old, "cart", "1 pear")
		e.commit(old)
		if c := old.x.LastCookie(); c != nil {
			t.Fatalf("a request with the old ID was handed a cookie (%q): it could undo the rotation", c.Value)
		}
		if r := e.load(fresh); r.s.Get("cart") != "1 pear" {
			t.Fatalf("a write through the old ID did not reach the rotated session (cart=%v)", r.s.Get("cart"))
		}
	})

	t.Run("WriteRacingARotateFollowsIt", func(t *testing.T) {
		e := setup(t, session.WithRotateGrace(time.Minute))
		racer := e.load(e.cookie)
		fresh := rotate(e)
		e.set(racer, "cart", "2 figs")
		e.commit(racer)
		if r := e.load(fresh); r.s.Get("cart") != "2 figs" {
			t.Fatalf("a write racing a Rotate was lost (cart=%v)", r.s.Get("cart"))
		}
	})

	t.Run("RotatedIDFindsNothingAfterTheGrace", func(t *testing.T) {
		e := setup(t, session.WithRotateGrace(300*time.Millisecond))
		fresh := rotate(e)
		time.Sleep(500 * time.Millisecond)
		if !e.load(e.cookie).s.IsNew() {
			t.Fatal("the old ID still resolves after the grace period")
		}
		if e.load(fresh).s.Get("user") != "ann" {
			t.Fatal("the rotated session was lost")
		}
	})

	t.Run("DestroyEndsTheGraceAtOnce", func(t *testing.T) {
		e := setup(t, session.WithRotateGrace(time.Minute))
		fresh := rotate(e)
		r := e.load(fresh)
		r.s.Destroy()
		e.commit(r)
		if !e.load(e.cookie).s.IsNew() || !e.load(fresh).s.IsNew() {
			t.Fatal("a destroyed session still resolves through its old or new ID")
		}
	})

	t.Run("RegenerateHasNoGrace", func(t *testing.T) {
		e := setup(t, session.WithRotateGrace(time.Minute))
		r := e.load(e.cookie)
		r.s.Rotate()
		r.s.Regenerate() // a privilege change wins over a rotation
		e.commit(r)
		if !e.load(e.cookie).s.IsNew() {
			t.Fatal("the ID before a Regenerate still resolves")
		}
	})

	t.Run("RememberMeIsStoredWithTheSession", func(t *testing.T) {
		e := setup(t, session.WithIdleTimeout(time.Hour), session.WithTouchFraction(1e-9))
		r := e.load(e.cookie)
		r.s.Regenerate()
		r.s.SetPersistent(true)
		e.commit(r)
		c := r.x.LastCookie()
		if c == nil || c.MaxAge <= 0 || c.MaxAge > 3600 {
			t.Fatalf("remember-me login cookie = %v, want Max-Age in (0, 3600]", c)
		}
		e.cookie = c.Value
		later := e.load(e.cookie)
		later.s.Touch()
		e.commit(later)
		if c := later.x.LastCookie(); c == nil || c.MaxAge <= 0 {
			t.Fatalf("a cookie re-issued later forgot remember-me: %v", c)
		}
		r = e.load(e.cookie)
		r.s.SetPersistent(false)
		e.commit(r)
		if c := r.x.LastCookie(); c == nil || c.MaxAge != 0 {
			t.Fatalf("turning remember-me off: cookie %v, want one without Max-Age", c)
		}
	})

	t.Run("OwnersSessionsAreListedAndRevoked", func(t *testing.T) {
		e := setup(t)
		if _, ok := e.store.(session.OwnerIndex); !ok {
			t.Skip("store does not implement session.OwnerIndex")
		}
		ctx := context.Background()
		devices := map[string]string{}
		for _, ua := range []string{"phone", "laptop", "tablet"} {
			devices[ua] = e.loginAs("ann", ua, "198.51.100.9")
		}
		bob := e.loginAs("bob", "phone", "198.51.100.10")
		list, err := e.m.Sessions(ctx, "ann")
		if err != nil || len(list) != 3 {
			t.Fatalf("Sessions(ann) = %d sessions, %v; want 3", len(list), err)
		}
		handles := map[string]string{}
		for _, info := range list {
			if info.ClientIP != "198.51.100.9" || info.Created.IsZero() || info.LastSeen.IsZero() || info.Handle == "" {
				t.Fatalf("session info %+v lacks what a device list shows", info)
			}
			for _, id := range devices {
				if strings.Contains(info.Handle, id) || strings.Contains(id, info.Handle) {
					t.Fatal("a handle reveals the session ID")
				}
			}
			handles[info.UserAgent] = info.Handle
		}
		if r := e.loadAs(devices["laptop"], "laptop", "198.51.100.9"); r.s.Handle() != handles["laptop"] {
			t.Fatal("Session.Handle differs from the handle Sessions lists")
		}
		if ok, err := e.m.Revoke(ctx, "bob", handles["phone"]); ok || err != nil {
			t.Fatalf("revoking ann's session as bob = %v, %v; want false", ok, err)
		}
		if ok, err := e.m.Revoke(ctx, "ann", handles["phone"]); !ok || err != nil {
			t.Fatalf("Revoke = %v, %v", ok, err)
		}
		if !e.loadAs(devices["phone"], "phone", "198.51.100.9").s.IsNew() {
			t.Fatal("a revoked session still works")
		}
		if n, err := e.m.RevokeAll(ctx, "ann"); n != 2 || err != nil {
			t.Fatalf("RevokeAll(ann) = %d, %v; want 2", n, err)
		}
		for ua, id := range devices {
			if !e.loadAs(id, ua, "198.51.100.9").s.IsNew() {
				t.Fatalf("ann's %s session survived RevokeAll", ua)
			}
		}
		if e.loadAs(bob, "phone", "198.51.100.10").s.IsNew() {
			t.Fatal("RevokeAll(ann) ended bob's session")
		}
		if list, err := e.m.Sessions(ctx, "ann"); len(list) != 0 || err != nil {
			t.Fatalf("after RevokeAll Sessions(ann) = %v, %v", list, err)
		}
	})

	t.Run("RevokeAllFollowsARegenerateRacingIt", func(t *testing.T) {
		e := setup(t)
		if _, ok := e.store.(session.OwnerIndex); !ok {
			t.Skip("store does not implement session.OwnerIndex")
		}
		id := e.loginAs("carol", "phone", "198.51.100.11")
		racer := e.loadAs(id, "phone", "198.51.100.11")
		racer.s.Regenerate()
		hooked := &ownedHook{VersionedStore: e.store.(session.VersionedStore), after: func() { e.commit(racer) }}
		m, err := session.NewManager(session.WithStore(hooked))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := m.RevokeAll(context.Background(), "carol"); n != 1 || err != nil {
			t.Fatalf("RevokeAll = %d, %v; want 1", n, err)
		}
		moved := racer.x.LastCookie()
		if moved == nil || !session.ValidID(moved.Value) {
			t.Fatal("the Regenerate did not commit during RevokeAll")
		}
		if !e.loadAs(moved.Value, "phone", "198.51.100.11").s.IsNew() {
			t.Fatal("a session regenerated during RevokeAll survived under its new ID")
		}
	})
}

// loginAs stores a session of owner for a client with the given
// User-Agent and IP and returns its ID.
func (e *kitEnv) loginAs(owner, ua, ip string) string {
	e.t.Helper()
	r := e.loadAs("", ua, ip)
	r.s.Regenerate()
	e.set(r, "user", owner)
	r.s.SetOwner(owner)
	e.commit(r)
	c := r.x.LastCookie()
	if c == nil || !session.ValidID(c.Value) {
		e.t.Fatal("a login got no cookie")
	}
	return c.Value
}

// loadAs is load for a client with the given User-Agent and IP.
func (e *kitEnv) loadAs(cookie, ua, ip string) *kitReq {
	e.t.Helper()
	x := e.exchange(cookie)
	x.IP, x.Headers = ip, map[string]string{"User-Agent": ua}
	h := begin(e.m, x)
	s, err := h.Session()
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	return &kitReq{h, s, x}
}

// ownedHook runs after once Owned has read the owner index, before the
// caller acts on it.
type ownedHook struct {
	session.VersionedStore
	after func()
	once  sync.Once
}

func (h *ownedHook) AddOwner(ctx context.Context, owner, key string, expiry time.Time) error {
	return h.VersionedStore.(session.OwnerIndex).AddOwner(ctx, owner, key, expiry)
}

func (h *ownedHook) Owned(ctx context.Context, owner string) ([]string, error) {
	keys, err := h.VersionedStore.(session.OwnerIndex).Owned(ctx, owner)
	h.once.Do(h.after)
	return keys, err
}

func (h *ownedHook) RemoveOwner(ctx context.Context, owner string, keys ...string) error {
	return h.VersionedStore.(session.OwnerIndex).RemoveOwner(ctx, owner, keys...)
}

// kitEnv is one Manager over a store under test, and the cookie of one
// logged-in client.
type kitEnv struct {
	t      *testing.T
	m      *session.Manager
	store  session.Store
	cookie string
}

// kitReq is one request in flight.
type kitReq struct {
	h *session.Handle
	s *session.Session
	x *Exchange
}

func (e *kitEnv) exchange(cookie string) *Exchange {
	x := &Exchange{IP: "192.0.2.7", Headers: map[string]string{"User-Agent": "kit-protocol"}}
	if cookie != "" {
		x.CookieMap = map[string][]string{session.DefaultCookieName: {cookie}}
	}
	return x
}

// load starts a request carrying cookie and loads its session.
func (e *kitEnv) load(cookie string) *kitReq {
	e.t.Helper()
	x := e.exchange(cookie)
	h := begin(e.m, x)
	s, err := h.Session()
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	return &kitReq{h, s, x}
}

func (e *kitEnv) commit(r *kitReq) {
	e.t.Helper()
	if err := r.h.Commit(); err != nil {
		e.t.Fatalf("commit: %v", err)
	}
}

func (e *kitEnv) set(r *kitReq, key string, v any) {
	e.t.Helper()
	if err := r.s.Set(key, v); err != nil {
		e.t.Fatalf("Set(%q): %v", key, err)
	}
}

// login stores a session for user and keeps its cookie.
func (e *kitEnv) login(user string) {
	e.t.Helper()
	r := e.load("")
	e.set(r, "user", user)
	e.commit(r)
	c := r.x.LastCookie()
	if c == nil || !session.ValidID(c.Value) {
		e.t.Fatal("a new session with a value got no cookie")
	}
	e.cookie = c.Value
}

// race runs n requests on the logged-in session at once: all of them load
// the session before any runs fn and commits, so every commit races the
// others.
func (e *kitEnv) race(n int, fn func(i int, r *kitReq)) {
	e.t.Helper()
	var wg, loaded sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	loaded.Add(n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := e.exchange(e.cookie)
			h := begin(e.m, x)
			s, err := h.Session()
			loaded.Done()
			if err != nil {
				errs <- err
				return
			}
			if s.IsNew() {
				errs <- errors.New("a racing request did not find the session")
				return
			}
			<-start
			fn(i, &kitReq{h, s, x})
			if err := h.Commit(); err != nil {
				errs <- err
			}
		}()
	}
	loaded.Wait()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatalf("racing request: %v", err)
	}
}

// popFlashes reads and removes the logged-in session's flashes.
func (e *kitEnv) popFlashes() []any {
	e.t.Helper()
	r := e.load(e.cookie)
	got := r.s.Flashes()
	e.commit(r)
	return got
}

// destroyUser revokes every session of user.
func (e *kitEnv) destroyUser(user string) int {
	e.t.Helper()
	n, err := e.m.DestroyMatching(context.Background(), func(r session.Record) bool { return r.Values["user"] == user })
	if err != nil {
		e.t.Fatalf("DestroyMatching: %v", err)
	}
	return n
}

// noSessionOf fails the test if any live record of the store still holds
// a session of user.
func (e *kitEnv) noSessionOf(user string) {
	e.t.Helper()
	if _, ok := e.store.(session.Lister); !ok {
		return
	}
	if n := e.destroyUser(user); n != 0 {
		e.t.Fatalf("%d sessions of %s were still alive", n, user)
	}
}

// rangeHook runs after once Range has listed the store, before the caller
// acts on the listing.
type rangeHook struct {
	session.VersionedStore
	after func()
	once  sync.Once
}

func (h *rangeHook) Range(ctx context.Context, fn func(string, []byte, uint64) error) error {
	err := h.VersionedStore.(session.Lister).Range(ctx, fn)
	h.once.Do(h.after)
	return err
}

// rangeFilter hides one key from Range, as a scan that passed its place
// before it was written would.
type rangeFilter struct {
	session.VersionedStore
	hide string
}

func (f *rangeFilter) Range(ctx context.Context, fn func(string, []byte, uint64) error) error {
	return f.VersionedStore.(session.Lister).Range(ctx, func(k string, d []byte, v uint64) error {
		if k == f.hide {
			return nil
		}
		return fn(k, d, v)
	})
}
