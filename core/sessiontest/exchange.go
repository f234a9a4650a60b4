// Package sessiontest is the conformance kit of sessionkit: tests that any
// Store implementation and any framework adapter run to prove they keep the
// contract of package session, plus small helpers for writing such tests.
//
// A store module runs TestStore against its real server:
//
//	func TestConformance(t *testing.T) {
//		sessiontest.TestStore(t, func(t *testing.T) session.Store { return newTestStore(t) })
//	}
//
// An adapter module mounts the kit's routes (see Do) on its real router and
// runs TestAdapter, over real HTTP and in process; see Adapter.
package sessiontest

import (
	"context"
	"net/http"
	"sync"
)

// Exchange is a session.Exchange for tests that do not need a framework. The
// zero value is a request with no cookies from an empty IP.
type Exchange struct {
	Ctx       context.Context     // nil means context.Background()
	CookieMap map[string][]string // request cookies by name
	Headers   map[string]string   // request headers by canonical name
	IP        string              // client IP

	mu         sync.Mutex
	Set        []*http.Cookie // cookies set by the core, in order
	SetHeaders http.Header    // response headers set by the core
}

// Context implements session.Exchange.
func (x *Exchange) Context() context.Context {
	if x.Ctx == nil {
		return context.Background()
	}
	return x.Ctx
}

// Cookies implements session.Exchange.
func (x *Exchange) Cookies(name string) []string { return x.CookieMap[name] }

// Header implements session.Exchange.
func (x *Exchange) Header(name string) string { return x.Headers[name] }

// ClientIP implements session.Exchange.
func (x *Exchange) ClientIP() string { return x.IP }

// SetCookie implements session.Exchange.
func (x *Exchange) SetCookie(c *http.Cookie) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.Set = append(x.Set, c)
}

// SetHeader implements session.Exchange.
func (x *Exchange) SetHeader(name, value string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.SetHeaders == nil {
		x.SetHeaders = http.Header{}
	}
	x.SetHeaders.Set(name, value)
}

// LastCookie returns the last cookie set, or nil.
func (x *Exchange) LastCookie() *http.Cookie {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.Set) == 0 {
		return nil
	}
	return x.Set[len(x.Set)-1]
}
