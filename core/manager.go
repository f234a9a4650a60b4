package session

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults, as in the Connect seed where it has one.
const (
	// DefaultCookieName is the session cookie's name unless WithCookieName
	// sets another.
	DefaultCookieName = "sid"
	// DefaultLifetime is the absolute session lifetime, the seed's maxAge.
	DefaultLifetime = 4 * time.Hour
	// DefaultTouchFraction is the share of the idle timeout after which a
	// read-only request pushes the idle deadline forward.
	DefaultTouchFraction = 0.1
	// DefaultRotateGrace is how long the old ID of a rotated session keeps
	// resolving to it.
	DefaultRotateGrace = 30 * time.Second
)

// Manager loads and commits sessions. Create one with NewManager, share it
// between requests and goroutines, and hand it to an adapter. A Manager is
// immutable after construction.
type Manager struct {
	store       Store
	ownStore    bool           // the Manager made store and closes it
	versioned   VersionedStore // store, when it supports compare-and-swap
	fingerprint Fingerprint
	codec       Codec
	logger      *slog.Logger
	observer    Observer

	lifetime     time.Duration
	idleTimeout  time.Duration
	touchEvery   time.Duration
	saveNew      bool
	storeTimeout time.Duration

	cookieName  string
	cookiePath  string
	cookieDom   string
	httpOnly    bool
	secure      bool
	sameSite    http.SameSite
	partitioned bool
	persistent  bool

	touchFraction float64
	rotateGrace   time.Duration
	tokenHeader   string
	now           func() time.Time
	bufs          sync.Pool
}

// An Option configures a Manager in NewManager.
type Option func(*Manager) error

// NewManager returns a Manager configured by opts. Without options it
// keeps sessions in a new MemoryStore, fingerprints clients with
// FingerprintIDIPUserAgent, encodes with BinaryCodec, expires sessions 4 h
// after creation with no idle timeout, and sets a browser-session cookie
// named "sid" with Path=/, HttpOnly, Secure and SameSite=Lax.
//
// Invalid options and invalid combinations of options return an error.
func NewManager(opts ...Option) (*Manager, error) {
	m := &Manager{
		fingerprint:   FingerprintIDIPUserAgent,
		codec:         BinaryCodec{},
		lifetime:      DefaultLifetime,
		touchFraction: DefaultTouchFraction,
		rotateGrace:   DefaultRotateGrace,
		cookieName:    DefaultCookieName,
		cookiePath:    "/",
		httpOnly:      true,
		secure:        true,
		sameSite:      http.SameSiteLaxMode,
		now:           time.Now,
	}
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	if m.store == nil {
		m.store, _ = NewMemoryStore() // no options: cannot fail
		m.ownStore = true
	}
	m.versioned, _ = m.store.(VersionedStore)
	if m.logger == nil {
		m.logger = slog.Default()
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.touchEvery = time.Duration(float64(m.idleTimeout) * m.touchFraction)
	return m, nil
}

func (m *Manager) check() error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("session: invalid configuration: "+format, args...)
	}
	if m.lifetime <= 0 {
		return fail("lifetime must be positive, got %v", m.lifetime)
	}
	if m.storeTimeout < 0 {
		return fail("store timeout must not be negative, got %v", m.storeTimeout)
	}
	if m.idleTimeout < 0 {
		return fail("idle timeout must not be negative, got %v", m.idleTimeout)
	}
	if m.idleTimeout > m.lifetime {
		return fail("idle timeout %v exceeds lifetime %v and would never apply", m.idleTimeout, m.lifetime)
	}
	if m.rotateGrace < 0 {
		return fail("rotate grace must not be negative, got %v", m.rotateGrace)
	}
	if m.tokenHeader != "" && !validCookieName(m.tokenHeader) {
		return fail("token header %q is not a valid header name", m.tokenHeader)
	}
	if !(m.touchFraction > 0 && m.touchFraction <= 1) {
		return fail("touch fraction must be in (0, 1], got %v", m.touchFraction)
	}
	if m.cookieName == "" || !validCookieName(m.cookieName) {
		return fail("cookie name %q is not a valid token", m.cookieName)
	}
	if !strings.HasPrefix(m.cookiePath, "/") {
		return fail("cookie path %q must start with /", m.cookiePath)
	}
	if strings.HasPrefix(m.cookieName, "__Host-") {
		if m.cookieDom != "" || m.cookiePath != "/" || !m.secure {
			return fail("a __Host- cookie needs Secure, Path=/ and no Domain; browsers reject it otherwise")
		}
	}
	if strings.HasPrefix(m.cookieName, "__Secure-") && !m.secure {
		return fail("a __Secure- cookie needs Secure; browsers reject it otherwise")
	}
	if m.sameSite == http.SameSiteNoneMode && !m.secure {
		return fail("SameSite=None needs Secure; browsers reject it otherwise")
	}
	if m.partitioned && !m.secure {
		return fail("a Partitioned cookie needs Secure; browsers reject it otherwise")
	}
	return nil
}

func validCookieName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// WithStore sets where sessions are kept. The default is a new MemoryStore
// with default options; a Store given here is not closed by the Manager.
func WithStore(s Store) Option {
	return func(m *Manager) error {
		if s == nil {
			return errors.New("session: WithStore(nil)")
		}
		m.store = s
		return nil
	}
}

// WithFingerprint sets how the store key is derived from the session ID and
// the client. The default is FingerprintIDIPUserAgent.
func WithFingerprint(f Fingerprint) Option {
	return func(m *Manager) error {
		if f == nil {
			return errors.New("session: WithFingerprint(nil)")
		}
		m.fingerprint = f
		return nil
	}
}

// WithCodec sets how records are encoded for the store. The default is
// BinaryCodec; JSONCodec lets programs in other languages read sessions.
// Changing the codec makes existing records unreadable (ErrCorrupt).
func WithCodec(c Codec) Option {
	return func(m *Manager) error {
		if c == nil {
			return errors.New("session: WithCodec(nil)")
		}
		m.codec = c
		return nil
	}
}

// WithLifetime sets the absolute maximum age of a session, counted from its
// creation and kept across Regenerate. The default is 4 h.
func WithLifetime(d time.Duration) Option {
	return func(m *Manager) error { m.lifetime = d; return nil }
}

// WithIdleTimeout ends a session that has not been used for d. Zero, the
// default, turns the idle timeout off. See WithTouchFraction for how often
// a read-only request pushes the idle deadline forward.
func WithIdleTimeout(d time.Duration) Option {
	return func(m *Manager) error { m.idleTimeout = d; return nil }
}

// WithTouchFraction sets how stale the stored last-access time may become
// before a request that only reads the session writes it back to push the
// idle deadline: at most once per f × idle timeout. The default is 0.1; a
// session may then end up to a tenth of the idle timeout early, in exchange
// for not writing the store on every read.
func WithTouchFraction(f float64) Option {
	return func(m *Manager) error { m.touchFraction = f; return nil }
}

// WithStoreTimeout bounds the store calls of one load and of one commit
// to d, on top of the request context's own deadline, so that an
// unreachable or stalled store turns into an error (wrapping ErrStore and
// context.DeadlineExceeded) on the framework's error path instead of a
// hanging request. Zero, the default, leaves only the request's context.
func WithStoreTimeout(d time.Duration) Option {
	return func(m *Manager) error { m.storeTimeout = d; return nil }
}

// WithRotateGrace sets how long the old ID of a session rotated with
// Session.Rotate keeps resolving to the rotated session, so that requests
// in flight with the old cookie neither fail nor overwrite it. The
// default is 30 s; zero ends the old ID at once, as Regenerate does.
func WithRotateGrace(d time.Duration) Option {
	return func(m *Manager) error { m.rotateGrace = d; return nil }
}

// WithTokenHeader carries the session ID in the request header name
// instead of a cookie, for APIs and mobile clients: the client sends the
// ID as the header's whole value, and the response carries a new ID in
// the same header whenever the client must switch (a new session, a
// login's Regenerate, a Rotate), and an empty value when the session was
// destroyed. A session cookie, if one is sent, is ignored; no Set-Cookie
// is written. The fingerprint still binds the ID to the client, and the
// client must keep the token as safe as it would a password.
func WithTokenHeader(name string) Option {
	return func(m *Manager) error {
		if name == "" {
			return errors.New("session: WithTokenHeader(\"\")")
		}
		m.tokenHeader = http.CanonicalHeaderKey(name)
		return nil
	}
}

// WithSaveUninitialized makes a new session be stored and given a cookie
// even when nothing was written to it. By default it is not.
func WithSaveUninitialized(save bool) Option {
	return func(m *Manager) error { m.saveNew = save; return nil }
}

// WithLogger sets where the Manager and the adapters report what cannot
// reach a response any more, such as a session changed after the headers
// were sent. The default is slog.Default(). Session IDs are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(m *Manager) error {
		if l == nil {
			return errors.New("session: WithLogger(nil)")
		}
		m.logger = l
		return nil
	}
}

// WithCookieName sets the session cookie's name; the default is "sid". A
// name starting with "__Host-" requires Secure, Path=/ and no Domain.
func WithCookieName(name string) Option {
	return func(m *Manager) error { m.cookieName = name; return nil }
}

// WithCookiePath sets the cookie's Path; the default is "/".
func WithCookiePath(path string) Option {
	return func(m *Manager) error { m.cookiePath = path; return nil }
}

// WithCookieDomain sets the cookie's Domain; the default is none (the
// cookie goes back only to the host that set it).
func WithCookieDomain(domain string) Option {
	return func(m *Manager) error { m.cookieDom = domain; return nil }
}

// WithCookieHTTPOnly sets the cookie's HttpOnly flag; the default is true,
// which keeps the session ID out of reach of page scripts.
func WithCookieHTTPOnly(on bool) Option {
	return func(m *Manager) error { m.httpOnly = on; return nil }
}

// WithCookieSecure sets the cookie's Secure flag; the default is true, so
// the cookie is sent over HTTPS only (browsers treat http://localhost as
// secure). Turn it off only for plain-HTTP development.
func WithCookieSecure(on bool) Option {
	return func(m *Manager) error { m.secure = on; return nil }
}

// WithCookieSameSite sets the cookie's SameSite attribute; the default is
// http.SameSiteLaxMode. SameSite=None requires Secure.
func WithCookieSameSite(s http.SameSite) Option {
	return func(m *Manager) error {
		if s < http.SameSiteDefaultMode || s > http.SameSiteNoneMode {
			return fmt.Errorf("session: invalid SameSite value %d", s)
		}
		m.sameSite = s
		return nil
	}
}

// WithCookiePartitioned sets the cookie's Partitioned attribute (CHIPS),
// for sessions inside third-party iframes. It requires Secure.
func WithCookiePartitioned(on bool) Option {
	return func(m *Manager) error { m.partitioned = on; return nil }
}

// WithPersistentCookie makes the cookie carry Max-Age (until the session's
// deadline) so it survives a browser restart. By default it is a
// browser-session cookie that the browser drops when it closes; the
// server-side deadlines apply either way.
func WithPersistentCookie(on bool) Option {
	return func(m *Manager) error { m.persistent = on; return nil }
}

// Close releases what the Manager made itself: the default MemoryStore's
// sweeper. A Store passed with WithStore is the caller's to close.
func (m *Manager) Close() error {
	if c, ok := m.store.(interface{ Close() error }); ok && m.ownStore {
		return c.Close()
	}
	return nil
}

// CookieName returns the name of the session cookie.
func (m *Manager) CookieName() string { return m.cookieName }

// TokenHeader returns the header set with WithTokenHeader, or "" when
// sessions travel in the cookie.
func (m *Manager) TokenHeader() string { return m.tokenHeader }

// Store returns the Store the Manager keeps sessions in.
func (m *Manager) Store() Store { return m.store }

// Logger returns the logger set with WithLogger.
func (m *Manager) Logger() *slog.Logger { return m.logger }

// deadline returns when a record with the given times expires.
func (m *Manager) deadline(created, accessed time.Time) time.Time {
	d := created.Add(m.lifetime)
	if m.idleTimeout > 0 {
		if idle := accessed.Add(m.idleTimeout); idle.Before(d) {
			d = idle
		}
	}
	return d
}

// cookie builds the Set-Cookie for id, expiring at deadline if persistent;
// an empty id builds one that deletes the cookie.
func (m *Manager) cookie(id string, deadline time.Time, persistent bool, now time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:        m.cookieName,
		Value:       id,
		Path:        m.cookiePath,
		Domain:      m.cookieDom,
		HttpOnly:    m.httpOnly,
		Secure:      m.secure,
		SameSite:    m.sameSite,
		Partitioned: m.partitioned,
	}
	switch {
	case id == "":
		c.MaxAge = -1
	case persistent:
		c.MaxAge = max(int(deadline.Sub(now)/time.Second), 1)
	}
	return c
}

func (m *Manager) getBuf() *[]byte {
	if b, ok := m.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 512)
	return &b
}

func (m *Manager) putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		m.bufs.Put(b)
	}
}

// checkValue returns an error if the codec cannot encode v, so that Set
// fails where the handler can see it rather than at the commit. Values of
// BinaryCodec's scalar types need no check.
func (m *Manager) checkValue(key string, v any) error {
	if _, ok := m.codec.(BinaryCodec); ok {
		switch v.(type) {
		case nil, string, bool, int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8,
			float64, float32, []byte, time.Duration, []string:
			return nil
		}
	}
	bp := m.getBuf()
	defer m.putBuf(bp)
	rec := Record{Values: map[string]any{key: v}}
	if _, err := m.codec.Encode((*bp)[:0], &rec); err != nil {
		return fmt.Errorf("session: cannot store %q: %w", key, err)
	}
	return nil
}
