// Package testenv is the sessionkit workspace's own test plumbing: a TCP
// proxy and a private redis-server to inject store faults, a Manager over
// a counting, failing store with its log captured, and helpers for real
// HTTP responses and in-process benchmarks. It is not a public API (Go's
// internal rule keeps it to the modules of this repository) and it is not
// the conformance kit: that is core/sessiontest.
package testenv
