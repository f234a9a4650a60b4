package sessiontest

import (
	"context"
	"net/http"
	"sync"

	session "github.com/sessionkit/sessionkit/core"
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

// begin starts a request described by x, as an adapter does.
func begin(m *session.Manager, x session.Exchange) *session.Handle {
	h := new(session.Handle)
	h.Init(m, x)
	return h
}
