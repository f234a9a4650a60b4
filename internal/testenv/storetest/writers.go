package storetest

import (
	"errors"
	"fmt"
	"sync"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// ConcurrentWriters stores a session holding start=true on m, then runs
// writers goroutines that each make rounds requests on it, one after the
// other, every request setting a key of its own. It returns every failed
// request and every key (start included) that did not persist, or nil.
func ConcurrentWriters(m *session.Manager, writers, rounds int) error {
	headers := map[string]string{"User-Agent": "storetest"}
	exchange := func(cookies map[string][]string) *sessiontest.Exchange {
		return &sessiontest.Exchange{IP: "192.0.2.7", Headers: headers, CookieMap: cookies}
	}
	x := exchange(nil)
	h := testenv.Begin(m, x)
	sess, err := h.Session()
	if err != nil {
		return err
	}
	sess.Set("start", true)
	if err := h.Commit(); err != nil {
		return err
	}
	cookies := map[string][]string{m.CookieName(): {x.LastCookie().Value}}

	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				h := testenv.Begin(m, exchange(cookies))
				sess, err := h.Session()
				if err != nil {
					errs <- err
					return
				}
				if sess.IsNew() {
					errs <- errors.New("the session was not found")
					return
				}
				sess.Set(fmt.Sprintf("w%d.r%d", w, r), w*100+r)
				if err := h.Commit(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var failed []error
	for err := range errs {
		failed = append(failed, err)
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	sess, err = testenv.Begin(m, exchange(cookies)).Session()
	if err != nil {
		return err
	}
	for w := range writers {
		for r := range rounds {
			if k := fmt.Sprintf("w%d.r%d", w, r); sess.Get(k) != w*100+r {
				failed = append(failed, fmt.Errorf("key %s = %v, want %d: a concurrent commit was lost", k, sess.Get(k), w*100+r))
			}
		}
	}
	if sess.Get("start") != true {
		failed = append(failed, errors.New("the original key was lost"))
	}
	return errors.Join(failed...)
}
