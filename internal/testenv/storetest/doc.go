// Package storetest is the harness the store modules' own tests and
// benchmarks share (stores/postgres, stores/sqlite): requests through a
// real Manager over the store, described with sessiontest.Exchange. It is
// not the conformance kit (that is core/sessiontest), and, like the rest
// of testenv, it reports with the standard library or returns errors, so
// that the tests calling it assert with testify.
//
// It is a package of its own because sessiontest imports testenv.
package storetest
