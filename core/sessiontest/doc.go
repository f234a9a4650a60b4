// Package sessiontest is sessionkit's conformance kit: the tests a Store
// or a framework adapter runs to prove it keeps the contract of package
// session. It uses only the standard library, so store and adapter authors
// need nothing else.
//
// A store module runs TestStore against its real server:
//
//	func TestConformance(t *testing.T) {
//		sessiontest.TestStore(t, func(t *testing.T) session.Store { return newTestStore(t) })
//	}
//
// Besides the Store contract, TestStore races requests through a real
// Manager on the store: concurrent writers, increments and flashes,
// Regenerate against a logout or a revocation, rotation, the owner index.
//
// An adapter module mounts the kit's routes (see Do, DoFor, StreamBody and
// Hijacked) on its real router and runs TestAdapter over real HTTP, and
// runs FuzzCookieHeader from a fuzz target. Exchange is a session.Exchange
// without a framework, for driving a Manager directly.
package sessiontest
