// Package fibersession connects sessionkit sessions to the Fiber web
// framework (github.com/gofiber/fiber/v2, on fasthttp).
//
//	m, _ := session.NewManager(session.WithStore(store))
//	app := fiber.New()
//	app.Use(fibersession.Middleware(m))
//	app.Get("/", func(c *fiber.Ctx) error {
//		sess, err := fibersession.Get(c)
//		if err != nil {
//			return err // fiber's ErrorHandler answers 500
//		}
//		n, _ := session.GetAs[int](sess, "visits")
//		sess.Set("visits", n+1)
//		return c.SendString(strconv.Itoa(n + 1))
//	})
//
// # Commit timing
//
// fasthttp sends the response only after the handler returns, so the
// middleware commits the session when c.Next returns: the store is written
// and the cookie set before any byte goes out, without buffering more than
// fasthttp already does. That covers streamed bodies too
// (c.Context().SetBodyStreamWriter, c.SendStream): the cookie goes out with
// their headers. Make session changes before starting a stream: a stream
// writer runs on its own goroutine, may run before or after the commit, and
// so its changes may be saved or, usually, not (they are then reported as
// late by the Manager's logger once the response has been sent). Call Get
// in the handler, never inside a stream writer: the Ctx is not valid there.
//
// A hijacked connection (c.Context().Hijack, as websocket upgraders use it)
// is handed over only after the handler, and so the middleware, has
// returned: the session is committed first, and fasthttp sends its cookie
// with the response it writes before calling the hijack handler (unless
// HijackSetNoResponse(true) says the hijack handler writes the response
// itself). If the commit fails, the hijack is called off.
//
// If the commit fails, the handler's response is replaced by the error
// response of package session: its body and the headers that describe it
// or let a cache keep it are dropped, Cache-Control: no-store is set, and
// the middleware returns an error that makes the ErrorHandler answer 500.
//
// # Middleware order
//
// Register the recover middleware before this one, so that it sits outside
// and a panic unwinds through the session middleware, which then commits
// nothing:
//
//	app.Use(recover.New(), fibersession.Middleware(m))
//
// This order is required: a recover registered after the session
// middleware turns the panic into an ordinary error before this one sees
// it, and fiber leaves no trace of the panic, so the panicking handler's
// half-done changes would be committed. fiber's timeout middleware wraps a
// handler, so it always sits inside; fasthttp.TimeoutHandler around the
// whole app answers from a response of its own, which drops the cookie of
// a commit made after it fired: do not use it.
//
// # Store timeout
//
// Each load and commit of a session is bounded by DefaultStoreTimeout (5 s)
// unless the Manager has a store timeout (session.WithStoreTimeout) or
// c.UserContext() has a deadline, which are then used instead: fasthttp
// never cancels a request's context when the client leaves, so a stalled
// store would otherwise hold the request forever.
//
// # fasthttp memory
//
// Strings taken from a *fiber.Ctx (c.Params, c.Query, c.Get, ...) point
// into buffers fasthttp reuses after the request, unless Config.Immutable
// is set. They may be passed to Session.Set as they are: values are encoded
// when the session is committed, inside the request. Copy them (with
// utils.CopyString) before keeping them anywhere else, including values
// read back from the session that you keep after the request. The adapter
// copies what it keeps itself.
//
// # Configuration
//
// fasthttp rejects requests whose headers exceed Config.ReadBufferSize
// (4 KiB by default) with 431; browsers send up to about 8 KiB of cookies
// for a site, so raise it (the tests use 16 KiB) if other cookies share the
// domain.
//
// The default fingerprint binds a session to the client IP from c.IP(),
// the connection's address unless Config.ProxyHeader is set. Behind a
// proxy, set ProxyHeader together with EnableTrustedProxyCheck and
// TrustedProxies: without the check, fiber believes the header from any
// client, who could then choose the IP its session is bound to.
package fibersession

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	session "github.com/sessionkit/sessionkit/core"
)

// localsKey is the c.Locals key of the request's state: the innermost
// with a nil m, m's once another middleware is nested inside m's.
type localsKey struct{ m *session.Manager }

// Middleware returns a Fiber handler that gives each request a lazily
// loaded session of m, reached with Get or GetFor, and commits it when the
// rest of the chain returns, before fasthttp sends the response. Register
// it with app.Use (or on a group or route). It panics if m is nil.
//
// If the session failed (see Get), the middleware returns an error that
// fiber's ErrorHandler answers with 500; otherwise the handler's error.
func Middleware(m *session.Manager) fiber.Handler {
	if m == nil {
		panic("fibersession: Middleware with a nil Manager")
	}
	return func(c *fiber.Ctx) error {
		x := &state{c: c}
		x.Init(m, x)
		if outer, ok := c.Locals(localsKey{}).(*state); ok {
			c.Locals(localsKey{outer.Manager()}, outer) // GetFor still finds it, and fasthttp still closes it
		}
		c.Locals(localsKey{}, x)
		err := c.Next()
		var ferr error
		if x.failed {
			// Get failed: the load error again, from the Handle, or, if the
			// session loaded, GetFor's missing middleware. Nothing is
			// committed, then or in Close.
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

// errorResponse replaces whatever the handler wrote with the error
// response, for fiber's ErrorHandler to finish, and calls off a registered
// hijack: the upgrade failed.
func errorResponse(c *fiber.Ctx, err error) error {
	res := c.Response()
	res.ResetBody()
	res.SetStatusCode(session.ErrorStatus)
	session.ResetErrorHeader(res.Header.Del, res.Header.Set)
	c.Context().Hijack(nil)
	return &sessionError{err}
}

// Get returns the session of a request served through Middleware, of the
// innermost Middleware when there are several, loading it on the first
// call. On an error return it from the handler: it converts (errors.As) to
// a *fiber.Error 500 and its message is just "Internal Server Error", so
// fiber's default ErrorHandler answers 500 without detail; the middleware
// replaces whatever the handler wrote. The cause, logged with the
// Manager's logger, is errors.Unwrap(err): it wraps session.ErrStore or
// session.ErrCorrupt when the session could not be loaded, and is
// session.ErrNoMiddleware on a request that Middleware did not handle.
func Get(c *fiber.Ctx) (*session.Session, error) { return GetFor(c, nil) }

// GetFor is Get for the session of m, on a route with the middlewares of
// several Managers (each with its own cookie name); with a nil m it is Get.
// It fails with session.ErrNoMiddleware when no Middleware of m handles
// the request.
func GetFor(c *fiber.Ctx, m *session.Manager) (*session.Session, error) {
	x, _ := c.Locals(localsKey{}).(*state)
	if x != nil && m != nil && x.Manager() != m {
		x, _ = c.Locals(localsKey{m}).(*state)
	}
	if x == nil {
		if in, _ := c.Locals(localsKey{}).(*state); in != nil {
			return nil, in.fail(session.ErrNoMiddleware) // another Manager's middleware answers
		}
		session.LogError(c.UserContext(), nil, session.ErrNoMiddleware)
		return nil, errorResponse(c, session.ErrNoMiddleware)
	}
	s, err := x.Session()
	if err != nil {
		return nil, x.fail(err)
	}
	return s, nil
}

// fail logs err once, and has the middleware answer with the error
// response whatever the handler does next.
func (x *state) fail(err error) error {
	if !x.failed {
		x.failed = true
		x.log(err)
	}
	return &sessionError{err}
}

// sessionError is the error Get and Middleware return: its message shows
// no detail, it unwraps to the cause and it converts to a *fiber.Error 500.
type sessionError struct{ err error }

func (e *sessionError) Error() string { return http.StatusText(http.StatusInternalServerError) }

func (e *sessionError) Unwrap() error { return e.err }

// As lets errors.As, as fiber's DefaultErrorHandler uses it, see a
// *fiber.Error 500.
func (e *sessionError) As(target any) bool {
	if p, ok := target.(**fiber.Error); ok {
		*p = fiber.NewError(fiber.StatusInternalServerError)
		return true
	}
	return false
}

// DefaultStoreTimeout bounds each load and each commit of a session when
// nothing else does. fasthttp gives a request no context that ends when the
// client leaves (c.UserContext() is context.Background() unless a
// middleware sets one), so without a bound a stalled store would hold the
// request, and its worker, forever. It applies only when the Manager has no
// store timeout and c.UserContext() has no deadline: set
// session.WithStoreTimeout on the Manager, or a deadline on the user
// context in an earlier middleware (c.SetUserContext), to choose another.
const DefaultStoreTimeout = 5 * time.Second

// storeTimeout is DefaultStoreTimeout; the package's tests shorten it.
var storeTimeout = DefaultStoreTimeout

// state is the per-request value, in one allocation: the session Handle
// and the Exchange the core reads.
type state struct {
	session.Handle
	c         *fiber.Ctx
	committed bool                     // the middleware committed after c.Next
	failed    bool                     // Get could not load the session, and logged why
	vals      [2]string                // room for Cookies' result
	bound     boundCtx                 // the first store call's bounded context, here to save an allocation
	cur       atomic.Pointer[boundCtx] // the current store call's
}

// log logs err, a session error on its way to the ErrorHandler, once.
func (x *state) log(err error) { session.LogError(x.c.UserContext(), x.Manager(), err) }

// Context implements session.Exchange: c.UserContext(), bounded by
// DefaultStoreTimeout when neither it nor the Manager bounds the store
// calls. The core asks once per load and once per commit, so each gets the
// whole bound, counted from when the store first looks at its context,
// however long the handler ran in between.
func (x *state) Context() context.Context {
	ctx := x.c.UserContext()
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

// ClientIP implements session.Exchange with fiber's c.IP, which honours
// Config.ProxyHeader and the trusted-proxy settings, in the form of
// session.CanonicalIP. fasthttp drops an IPv6 zone, which is put back: the
// same link-local address on two links is two clients.
func (x *state) ClientIP() string {
	ip := x.c.IP()
	if a, ok := x.c.Context().RemoteAddr().(*net.TCPAddr); ok && a.Zone != "" && a.IP.String() == ip {
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

// Close is called by fasthttp when it drops the request's values, after the
// response, streamed body included, has been sent. Committing again there
// makes the core log changes made too late, such as inside a stream writer.
// It must not touch the Ctx, which fiber has recycled by then.
func (x *state) Close() error {
	if x.committed {
		_ = x.Commit()
	}
	return nil
}

// boundCtx is the context of one load or commit that nothing else bounds:
// the user context with a deadline storeTimeout after the store first
// looks at it. The clock is read and the timer behind Done started only
// when a store asks, so a store that never does (the MemoryStore) costs
// neither, and a boundCtx no store started can serve the next call. It is
// kept small: every request's state holds one.
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
