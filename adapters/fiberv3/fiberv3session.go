package fiberv3session

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/utils/v2"
	session "github.com/sessionkit/sessionkit/core"
)

// localsKey is the c.Locals key of a state: the innermost's with a nil m,
// m's once another middleware is nested inside m's.
type localsKey struct{ m *session.Manager }

// Middleware returns a Fiber handler that gives each request a lazily
// loaded session of m, reached with Get or GetFor, and commits it when the
// rest of the chain returns, before fasthttp sends the response. If the
// session failed it returns an error for fiber's ErrorHandler (see Get),
// else the handler's. It panics if m is nil.
func Middleware(m *session.Manager) fiber.Handler {
	if m == nil {
		panic("fiberv3session: Middleware with a nil Manager")
	}
	return func(c fiber.Ctx) error {
		x := &state{c: c}
		x.Init(m, x)
		if outer, ok := c.Locals(localsKey{}).(*state); ok {
			c.Locals(localsKey{outer.Manager()}, outer) // for GetFor, and for fasthttp to Close
		}
		c.Locals(localsKey{}, x)
		err := c.Next()
		var ferr error
		if x.failed {
			// The Handle's load error again, or else GetFor's missing
			// middleware. Nothing is committed, now or in Close.
			if _, ferr = x.Session(); ferr == nil {
				ferr = session.ErrNoMiddleware
			}
		} else {
			x.committed = true
			if ferr = x.Commit(); ferr != nil {
				x.log(ferr)
			}
		}
		x.stopBound()
		if ferr != nil {
			return errorResponse(c, ferr)
		}
		return err
	}
}

// errorResponse replaces what the handler wrote with the error response's
// status and headers, for fiber's ErrorHandler to finish, and calls off a
// hijack: the upgrade failed.
func errorResponse(c fiber.Ctx, err error) error {
	res := c.Response()
	res.ResetBody()
	res.SetStatusCode(session.ErrorStatus)
	session.ResetErrorHeader(res.Header.Del, res.Header.Set)
	c.RequestCtx().Hijack(nil)
	return &sessionError{err}
}

// Get returns the request's session (the innermost Middleware's), loading
// it on the first call. Return its error from the handler: it converts
// (errors.As) to a *fiber.Error 500 whose message, "Internal Server
// Error", is all fiber's default ErrorHandler shows; the middleware
// replaces whatever the handler wrote. errors.Unwrap gives the cause,
// logged by then: it wraps session.ErrStore or session.ErrCorrupt, or is
// session.ErrNoMiddleware.
func Get(c fiber.Ctx) (*session.Session, error) { return GetFor(c, nil) }

// GetFor is Get for the session of m, when the middlewares of several
// Managers share a route; with a nil m it is Get.
func GetFor(c fiber.Ctx, m *session.Manager) (*session.Session, error) {
	x, _ := c.Locals(localsKey{}).(*state)
	if x != nil && m != nil && x.Manager() != m {
		x, _ = c.Locals(localsKey{m}).(*state)
	}
	if x == nil {
		if in, _ := c.Locals(localsKey{}).(*state); in != nil {
			return nil, in.fail(session.ErrNoMiddleware) // another Manager's middleware answers
		}
		session.LogError(c.Context(), nil, session.ErrNoMiddleware)
		return nil, errorResponse(c, session.ErrNoMiddleware)
	}
	s, err := x.Session()
	if err != nil {
		return nil, x.fail(err)
	}
	return s, nil
}

// fail logs err once and has the middleware answer with the error
// response, whatever the handler does next.
func (x *state) fail(err error) error {
	if !x.failed {
		x.failed = true
		x.log(err)
	}
	return &sessionError{err}
}

// sessionError is a session error for fiber's ErrorHandler: a message
// without detail, the cause, and a *fiber.Error 500 for errors.As.
type sessionError struct{ err error }

func (e *sessionError) Error() string { return http.StatusText(http.StatusInternalServerError) }

func (e *sessionError) Unwrap() error { return e.err }

// As gives errors.As, which fiber's DefaultErrorHandler uses, a
// *fiber.Error 500.
func (e *sessionError) As(target any) bool {
	if p, ok := target.(**fiber.Error); ok {
		*p = fiber.NewError(fiber.StatusInternalServerError)
		return true
	}
	return false
}

// DefaultStoreTimeout bounds each load and each commit of a session when
// neither the Manager (session.WithStoreTimeout) nor c.Context() (set
// by an earlier middleware) does: fasthttp never ends a request's context
// when the client leaves, so a stalled store would hold the worker
// forever.
const DefaultStoreTimeout = 5 * time.Second

// storeTimeout is DefaultStoreTimeout; the package's tests shorten it.
var storeTimeout = DefaultStoreTimeout

// state is the per-request value, in one allocation: the Handle and the
// Exchange.
type state struct {
	session.Handle
	c         fiber.Ctx
	committed bool                     // the middleware committed after c.Next
	failed    bool                     // Get failed and logged why
	vals      [2]string                // room for Cookies' result
	bound     boundCtx                 // the first store call's bounded context, here to save an allocation
	cur       atomic.Pointer[boundCtx] // the current store call's
}

// log logs err, a session error on its way to the ErrorHandler, once.
func (x *state) log(err error) { session.LogError(x.c.Context(), x.Manager(), err) }

// Context implements session.Exchange: c.Context(), bounded by
// DefaultStoreTimeout when nothing else bounds the store calls. The core
// asks once per load and once per commit, so each gets the whole bound,
// counted from the store's first look, however long the handler ran.
func (x *state) Context() context.Context {
	ctx := x.c.Context()
	if _, ok := ctx.Deadline(); ok || x.Manager().StoreTimeout() > 0 {
		return ctx
	}
	b := x.cur.Load()
	switch {
	case b == nil:
		b = &x.bound
	case b.stop():
		b = new(boundCtx) // a store started the last one's timer (now stopped): it cannot be reused
	}
	b.reset(ctx)
	x.cur.Store(b)
	return b
}

// stopBound releases the timer of the last store call's context, if a store
// started one.
func (x *state) stopBound() {
	if b := x.cur.Load(); b != nil {
		b.stop()
	}
}

// Cookies implements session.Exchange. The values point into fasthttp's
// buffers; the core copies what it keeps.
func (x *state) Cookies(name string) []string {
	vals := x.vals[:0]
	x.c.Request().Header.VisitAllCookie(func(k, v []byte) {
		if string(k) == name {
			vals = append(vals, utils.UnsafeString(v))
		}
	})
	return vals
}

// Header implements session.Exchange.
func (x *state) Header(name string) string { return x.c.Get(name) }

// ClientIP implements session.Exchange with c.IP (Config.ProxyHeader and
// the trusted proxies). fasthttp drops an IPv6 zone, which is put back:
// the same link-local address on two links is two clients.
func (x *state) ClientIP() string {
	ip := x.c.IP()
	if a, ok := x.c.RequestCtx().RemoteAddr().(*net.TCPAddr); ok && a.Zone != "" && a.IP.String() == ip {
		return ip + "%" + a.Zone
	}
	return session.CanonicalIP(ip)
}

// SetCookie implements session.Exchange.
func (x *state) SetCookie(ck *http.Cookie) {
	x.c.Response().Header.Add(fiber.HeaderSetCookie, ck.String())
}

// SetHeader implements session.Exchange.
func (x *state) SetHeader(name, value string) { x.c.Set(name, value) }

// Close is called by fasthttp after the response, streamed body included,
// has gone out: committing again makes the core log changes made too late,
// as in a stream writer. The Ctx is recycled by then: hands off.
func (x *state) Close() error {
	if x.committed {
		_ = x.Commit()
	}
	return nil
}

// boundCtx is the context of one load or commit that nothing else bounds:
// the user context with a deadline storeTimeout after the store first
// looks at it. The clock and the timer are started only when a store asks,
// so the MemoryStore costs neither, and an unstarted boundCtx serves the
// next call. Every state holds one: it stays small.
type boundCtx struct {
	mu       sync.Mutex
	parent   context.Context
	deadline int64       // Unix nanoseconds, fixed by the store's first look; 0 before
	timer    *boundTimer // once a store asked for Done or Err
}

// boundTimer is the context.WithDeadline behind a started boundCtx.
type boundTimer struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// reset prepares b, which no store has started, for a new store call.
func (b *boundCtx) reset(parent context.Context) {
	b.mu.Lock()
	b.parent, b.deadline = parent, 0
	b.mu.Unlock()
}

// deadlineLocked returns b's deadline, fixing it on the first call; b.mu
// is held.
func (b *boundCtx) deadlineLocked() time.Time {
	if b.deadline == 0 {
		b.deadline = time.Now().Add(storeTimeout).UnixNano()
	}
	return time.Unix(0, b.deadline)
}

// start returns the context with the timer behind b, starting it.
func (b *boundCtx) start() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer == nil {
		ctx, cancel := context.WithDeadline(b.parent, b.deadlineLocked())
		b.timer = &boundTimer{ctx, cancel}
	}
	return b.timer.ctx
}

// stop cancels b's timer and reports whether a store had started it.
func (b *boundCtx) stop() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.cancel()
	}
	return b.timer != nil
}

// Deadline implements context.Context.
func (b *boundCtx) Deadline() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deadlineLocked(), true
}

// Done implements context.Context.
func (b *boundCtx) Done() <-chan struct{} { return b.start().Done() }

// Err implements context.Context.
func (b *boundCtx) Err() error { return b.start().Err() }

// Value implements context.Context.
func (b *boundCtx) Value(key any) any {
	b.mu.Lock()
	parent := b.parent
	b.mu.Unlock()
	return parent.Value(key)
}
