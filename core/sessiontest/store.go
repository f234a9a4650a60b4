package sessiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// TestStore proves that the stores made by newStore keep the session.Store
// contract: missing keys, round trips, copies, set-with-nothing deletes,
// native expiry, large and binary records, and, where offered, versioned
// updates under concurrent writers, Clear, All and Len. Each subtest gets a
// fresh, empty store from newStore, which should register its own cleanup
// with t.Cleanup. It also runs a Manager over the store end to end, with
// corrupt data planted under a session's key.
func TestStore(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	ctx := context.Background()
	in := func(d time.Duration) time.Time { return time.Now().Add(d) }

	t.Run("GetMissing", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "missing"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("RoundTripAndCopy", func(t *testing.T) {
		s := newStore(t)
		data := []byte("hello, store")
		if err := s.Set(ctx, "k", data, in(time.Minute)); err != nil {
			t.Fatal(err)
		}
		data[0] = 'X' // the store must have copied it
		got, err := s.Get(ctx, "k")
		if err != nil || string(got) != "hello, store" {
			t.Fatalf("Get = %q, %v; want %q", got, err, "hello, store")
		}
		if err := s.Set(ctx, "k", []byte("second"), in(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "k"); string(got) != "second" {
			t.Fatalf("after overwrite Get = %q", got)
		}
	})

	t.Run("BinaryAndLarge", func(t *testing.T) {
		s := newStore(t)
		bin := make([]byte, 256)
		for i := range bin {
			bin[i] = byte(i)
		}
		large := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
		for name, data := range map[string][]byte{"binary": bin, "large": large} {
			if err := s.Set(ctx, name, data, in(time.Minute)); err != nil {
				t.Fatalf("Set(%s): %v", name, err)
			}
			got, err := s.Get(ctx, name)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s record did not round-trip (err %v, %d bytes back of %d)", name, err, len(got), len(data))
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		mustSet(t, s, "k", "v", in(time.Minute))
		mustSet(t, s, "other", "v", in(time.Minute))
		if err := s.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("after Delete Get error = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "other"); err != nil {
			t.Fatalf("Delete removed another key: %v", err)
		}
		if err := s.Delete(ctx, "never-there"); err != nil {
			t.Fatalf("Delete(missing) = %v, want nil", err)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		s := newStore(t)
		mustSet(t, s, "short", "v", in(1200*time.Millisecond))
		mustSet(t, s, "long", "v", in(time.Minute))
		mustSet(t, s, "past", "v", in(-time.Second))
		if _, err := s.Get(ctx, "past"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("record set with a past expiry: Get error = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "short"); err != nil {
			t.Fatalf("record expired early: %v", err)
		}
		time.Sleep(1500 * time.Millisecond)
		if _, err := s.Get(ctx, "short"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("expired record: Get error = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "long"); err != nil {
			t.Fatalf("unexpired record lost: %v", err)
		}
		if n := liveRecords(t, s); n >= 0 && n != 1 {
			t.Fatalf("Range after expiry visits %d records, want 1", n)
		}
	})

	t.Run("Versioned", func(t *testing.T) {
		s := newStore(t)
		vs, ok := s.(session.VersionedStore)
		if !ok {
			t.Skip("store does not implement session.VersionedStore (last write wins)")
		}
		if _, _, err := vs.GetVersion(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("GetVersion(missing) error = %v, want ErrNotFound", err)
		}
		if _, err := vs.SetVersion(ctx, "k", []byte("a"), in(time.Minute), 7); !errors.Is(err, session.ErrConflict) {
			t.Fatalf("SetVersion on a missing key with version 7 = %v, want ErrConflict", err)
		}
		v1, err := vs.SetVersion(ctx, "k", []byte("a"), in(time.Minute), 0)
		if err != nil || v1 == 0 {
			t.Fatalf("SetVersion(create) = %d, %v; want a nonzero version", v1, err)
		}
		if _, err := vs.SetVersion(ctx, "k", []byte("b"), in(time.Minute), 0); !errors.Is(err, session.ErrConflict) {
			t.Fatalf("SetVersion(create) on an existing key = %v, want ErrConflict", err)
		}
		data, got, err := vs.GetVersion(ctx, "k")
		if err != nil || string(data) != "a" || got != v1 {
			t.Fatalf("GetVersion = %q, %d, %v; want %q at the version SetVersion returned (%d)", data, got, err, "a", v1)
		}
		v2, err := vs.SetVersion(ctx, "k", []byte("b"), in(time.Minute), v1)
		if err != nil || v2 == 0 || v2 == v1 {
			t.Fatalf("SetVersion(current) = %d, %v; want a new nonzero version (old %d)", v2, err, v1)
		}
		if _, err := vs.SetVersion(ctx, "k", []byte("c"), in(time.Minute), v1); !errors.Is(err, session.ErrConflict) {
			t.Fatalf("SetVersion(stale) = %v, want ErrConflict", err)
		}
		data, got, err = vs.GetVersion(ctx, "k")
		if err != nil || string(data) != "b" || got != v2 {
			t.Fatalf("after update GetVersion = %q, %d, %v; want %q at %d", data, got, err, "b", v2)
		}
		// Empty data deletes, under the same condition.
		if _, err := vs.SetVersion(ctx, "k", nil, in(time.Minute), v1); !errors.Is(err, session.ErrConflict) {
			t.Fatalf("conditional delete at a stale version = %v, want ErrConflict", err)
		}
		if _, err := vs.SetVersion(ctx, "k", nil, in(time.Minute), 0); !errors.Is(err, session.ErrConflict) {
			t.Fatalf("conditional delete at version 0 of a live record = %v, want ErrConflict", err)
		}
		if _, err := vs.SetVersion(ctx, "k", nil, time.Time{}, v2); err != nil {
			t.Fatalf("conditional delete at the current version = %v", err)
		}
		if _, _, err := vs.GetVersion(ctx, "k"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("after a conditional delete GetVersion error = %v, want ErrNotFound", err)
		}
		// A deleted and recreated key must not accept an old version.
		if _, err := vs.SetVersion(ctx, "k", []byte("d"), in(time.Minute), v2); !errors.Is(err, session.ErrConflict) {
			t.Fatalf("SetVersion on a deleted key with its old version = %v, want ErrConflict", err)
		}
		v3, err := vs.SetVersion(ctx, "k", []byte("d"), in(time.Minute), 0)
		if err != nil || v3 == v1 || v3 == v2 {
			t.Fatalf("recreating a deleted key = %d, %v; want a version never handed out before (%d, %d)", v3, err, v1, v2)
		}
		if err := vs.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		// An expired record counts as absent.
		if _, err := vs.SetVersion(ctx, "e", []byte("x"), in(-time.Second), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := vs.SetVersion(ctx, "e", []byte("y"), in(time.Minute), 0); err != nil {
			t.Fatalf("SetVersion(create) over an expired record = %v", err)
		}
	})

	t.Run("VersionedConcurrentWriters", func(t *testing.T) {
		s := newStore(t)
		vs, ok := s.(session.VersionedStore)
		if !ok {
			t.Skip("store does not implement session.VersionedStore")
		}
		const writers, each = 8, 25
		if _, err := vs.SetVersion(ctx, "n", []byte("0"), in(time.Minute), 0); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					for {
						data, v, err := vs.GetVersion(ctx, "n")
						if err != nil {
							errs <- err
							return
						}
						var n int
						fmt.Sscan(string(data), &n)
						_, err = vs.SetVersion(ctx, "n", fmt.Appendf(nil, "%d", n+1), in(time.Minute), v)
						if err == nil {
							break
						}
						if !errors.Is(err, session.ErrConflict) {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		data, _, _ := vs.GetVersion(ctx, "n")
		if string(data) != fmt.Sprint(writers*each) {
			t.Fatalf("after %d increments by %d concurrent writers the counter is %s: updates were lost",
				writers*each, writers, data)
		}
	})

	t.Run("Range", func(t *testing.T) {
		s := newStore(t)
		l, ok := s.(session.Lister)
		if !ok {
			t.Skip("store does not implement session.Lister")
		}
		mustSet(t, s, "a", "1", in(time.Minute))
		mustSet(t, s, "b", "2", in(time.Minute))
		mustSet(t, s, "dead", "3", in(-time.Second))
		seen := map[string]string{}
		versions := map[string]uint64{}
		err := l.Range(ctx, func(key string, data []byte, version uint64) error {
			seen[key] = string(data)
			versions[key] = version
			return nil
		})
		if err != nil || len(seen) != 2 || seen["a"] != "1" || seen["b"] != "2" {
			t.Fatalf("Range visited %q, %v; want a=1 b=2", seen, err)
		}
		if vs, ok := s.(session.VersionedStore); ok {
			for k, v := range versions {
				if _, cur, _ := vs.GetVersion(ctx, k); cur != v {
					t.Fatalf("Range gave %s version %d, GetVersion says %d", k, v, cur)
				}
			}
		}
		stop := errors.New("stop")
		calls := 0
		err = l.Range(ctx, func(string, []byte, uint64) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Range with fn failing: %d calls, error %v; want 1 call and fn's error", calls, err)
		}
	})

	t.Run("ManagerEndToEnd", func(t *testing.T) {
		s := newStore(t)
		m, err := session.NewManager(session.WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		x := &Exchange{IP: "192.0.2.1", Headers: map[string]string{"User-Agent": "kit"}}
		h := begin(m, x)
		sess, err := h.Session()
		if err != nil {
			t.Fatal(err)
		}
		sess.Set("user", "ann")
		sess.Set("n", 41)
		if err := h.Commit(); err != nil {
			t.Fatal(err)
		}
		c := x.LastCookie()
		if c == nil {
			t.Fatal("no cookie set for a new session with values")
		}
		x2 := &Exchange{IP: x.IP, Headers: x.Headers, CookieMap: map[string][]string{c.Name: {c.Value}}}
		h2 := begin(m, x2)
		sess2, err := h2.Session()
		if err != nil {
			t.Fatal(err)
		}
		if sess2.IsNew() || sess2.Get("user") != "ann" || sess2.Get("n") != 41 {
			t.Fatalf("stored session not found: new=%v user=%v n=%v", sess2.IsNew(), sess2.Get("user"), sess2.Get("n"))
		}
		if l, ok := s.(session.Lister); ok {
			err := l.Range(ctx, func(k string, v []byte, _ uint64) error {
				if bytes.Contains([]byte(k), []byte(c.Value)) || bytes.Contains(v, []byte(c.Value)) {
					t.Error("the store holds the raw session ID")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// Plant garbage under the session's key: loading it is an error, not a crash.
		key := session.FingerprintIDIPUserAgent(c.Value, x2)
		mustSet(t, s, key, "\x00garbage\xff", in(time.Minute))
		x3 := &Exchange{IP: x.IP, Headers: x.Headers, CookieMap: x2.CookieMap}
		if _, err := begin(m, x3).Session(); !errors.Is(err, session.ErrCorrupt) {
			t.Fatalf("loading corrupt data: error = %v, want ErrCorrupt", err)
		}
		if got, _ := s.Get(ctx, key); string(got) != "\x00garbage\xff" {
			t.Fatal("a failed load changed the stored record")
		}
	})

	testProtocol(t, newStore)
	testFeatures(t, newStore)
}

// liveRecords counts the records a Lister visits, or returns -1 for a
// store that cannot list.
func liveRecords(t *testing.T, s session.Store) int {
	t.Helper()
	l, ok := s.(session.Lister)
	if !ok {
		return -1
	}
	n := 0
	if err := l.Range(context.Background(), func(string, []byte, uint64) error { n++; return nil }); err != nil {
		t.Fatalf("Range: %v", err)
	}
	return n
}

func mustSet(t *testing.T, s session.Store, key, val string, exp time.Time) {
	t.Helper()
	if err := s.Set(context.Background(), key, []byte(val), exp); err != nil {
		t.Fatalf("Set(%s): %v", key, err)
	}
}

// cookieByName returns the named cookie among cs, or nil.
func cookieByName(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}
