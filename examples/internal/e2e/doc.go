// Package e2e holds the end-to-end tests of the demo programs: it builds
// the four binaries with go build, runs them as processes, checks their
// command line, their "listening on" log line and their graceful shutdown
// on SIGTERM with a request in flight, and proves that demos of different
// frameworks pointed at one Redis or PostgreSQL share sessions. It has no
// code of its own.
package e2e
