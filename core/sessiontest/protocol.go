package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	h := e.m.Begin(x)
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
			h := e.m.Begin(x)
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
