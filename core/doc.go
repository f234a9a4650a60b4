// Package session is the framework-agnostic core of sessionkit: server-side
// HTTP sessions that work the same under net/http, gin, echo and fiber.
//
// The model descends from the Connect session middleware. A [Manager] holds
// the configuration. For every request an adapter creates a [Handle] with
// [Manager.Begin], handing it an [Exchange]: the few things the core needs
// from the framework (cookies, a header, the client IP, the request context,
// and a way to set a cookie). The handler reaches its [Session] through
// [Handle.Session], which loads it from the [Store] on first use, and the
// adapter calls [Handle.Commit] just before the response headers go out.
//
// # Keys, IDs and fingerprints
//
// A session ID is 256 bits from crypto/rand, sent to the client as 43
// characters of unpadded base64url. The store never sees it: records are
// keyed by a [Fingerprint], by default SHA-256 over the ID, the client IP and
// the User-Agent. A leaked store therefore holds no usable cookie, and a
// cookie replayed from another client (another IP or User-Agent) finds no
// record and gets a fresh session with a new, server-made ID. A cookie the
// client made up is never adopted.
//
// Binding to the client IP breaks sessions of clients whose address changes
// (mobile networks, dual-stack hosts, some corporate proxies). Pick
// [FingerprintIDUserAgent] or [FingerprintIDOnly] when that matters more than
// stolen-cookie protection. Behind a reverse proxy the client IP is only
// right when the framework trusts exactly that proxy; see SECURITY.md.
//
// # Laziness and round trips
//
// A request whose handler never calls [Handle.Session] costs no store call
// and sets no cookie. A session that is only read is not written back,
// except to push its idle deadline forward, and then at most once per
// [WithTouchFraction] of the idle timeout. A new session that nothing was
// written to is neither stored nor given a cookie unless
// [WithSaveUninitialized] says so.
//
// # Concurrent requests
//
// A commit applies this request's operations (set, delete, clear,
// increment, flash add and pop, touch, regenerate, destroy) to the latest
// stored record with compare-and-swap, when the store implements
// [VersionedStore]: two requests that change different keys both persist,
// [Session.Incr] merges as a delta, and each flash message is shown once.
// Destroy and revocation win: a destroyed record is never written again.
// [Session.Regenerate] moves the latest state to the new ID atomically and
// hands out no cookie if the session was destroyed meanwhile. Stores
// without versions fall back to last write wins. docs/PROTOCOL.md states
// the whole protocol.
//
// # Lifetimes
//
// [WithLifetime] bounds a session's age from its creation (default 4 h, the
// seed's maxAge) and [WithIdleTimeout] its time since last use (off by
// default). Both are enforced on load, whatever the store does with the
// expiry it is given.
package session
