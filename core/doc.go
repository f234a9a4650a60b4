// Package session is the core of sessionkit: server-side HTTP sessions
// that work the same under net/http, gin, echo and fiber, kept in memory,
// Redis, PostgreSQL or SQLite.
//
// # Using it
//
// Make one [Manager] and hand it to your framework's adapter; handlers get
// their [Session] from the adapter's Get (here gin's):
//
//	m, err := session.NewManager(session.WithIdleTimeout(30 * time.Minute))
//	r.Use(ginsession.Middleware(m))
//
//	r.POST("/login", func(c *gin.Context) {
//		s, err := ginsession.Get(c)
//		if err != nil {
//			return // the adapter has answered 500
//		}
//		s.Regenerate()              // a new ID at every privilege change
//		s.Set("user", "ann")        // any encodable value
//		s.SetOwner("ann")           // lets Manager.RevokeAll end it
//		s.AddFlash("Welcome back.") // shown once, on a later request
//	})
//	r.POST("/logout", func(c *gin.Context) {
//		if s, err := ginsession.Get(c); err == nil {
//			s.Destroy() // deleted at once; the cookie is expired
//		}
//	})
//
// Read values with [Session.Get] or the typed [GetAs], count with
// [Session.Incr] (concurrent requests all count), and read flash messages
// with [Session.Flashes]. The session is loaded on first use and committed
// just before the response headers go out; a request that never asks for
// it costs nothing. [Manager.RevokeAll] logs a user out everywhere, and
// [Manager.Sessions] lists their devices.
//
// By default sessions live in a [MemoryStore] for 4 hours ([WithLifetime])
// with no idle timeout ([WithIdleTimeout]), in a browser-session cookie
// named "sid" that is HttpOnly, Secure and SameSite=Lax. Other stores are
// modules of their own (redisstore, pgstore, sqlitestore), passed with
// [WithStore]. Values of the common Go types are stored natively; register
// your own types with [Register].
//
// # Guarantees
//
// A session ID is 256 bits from crypto/rand, and the store never sees it:
// records are keyed by a [Fingerprint], by default SHA-256 over the ID, the
// client IP and the User-Agent, so a leaked store holds no usable cookie
// and a cookie replayed from another client finds nothing. A cookie the
// client made up is never adopted.
//
// Concurrent requests on one session merge: a commit applies this
// request's operations to the latest stored record with compare-and-swap
// (on a [VersionedStore]), and destroy and revocation always win, so a
// logout is never undone. docs/PROTOCOL.md states the protocol.
//
// Errors: a store failure is an error wrapping [ErrStore], and a record
// that cannot be decoded one wrapping [ErrCorrupt], on the framework's error
// path; there is never an empty session standing in for one that could not
// be loaded. A change made after the headers went out is not saved and is
// reported as [ErrLateChange].
//
// # Writing a store or an adapter
//
// A store implements [Store], and should implement [VersionedStore] (and
// [Lister], [OwnerIndex]); an adapter embeds a [Handle] per request, calls
// [Handle.Init] with an [Exchange] describing the request, and calls
// [Handle.Commit] just before the response headers go out. The conformance
// kit, package sessiontest, tests both. docs/DESIGN.md explains the design.
package session
