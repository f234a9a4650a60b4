// Package bench measures what sessionkit costs per request, next to the bare
// handler (the floor) and next to the established session library of each
// framework (the anchors), in one `go test -bench` run.
//
// Every router is driven in process: net/http, gin and echo (v4 and v5)
// through ServeHTTP with a reused recorder, fiber (v2 and v3) through
// app.Handler() on a fasthttp.RequestCtx that re-parses the raw request
// bytes each iteration.
// Four scenarios run serially and under b.RunParallel:
//
//   - untouched: the request carries a valid session cookie and the handler
//     never touches the session;
//   - read: valid cookie, the handler reads the int stored under "n" and
//     must see the seeded 42;
//   - write: valid cookie, the handler increments "n" and the response
//     must show the next value of this client's own session;
//   - new: no cookie, the handler sets "n" and a session cookie must come
//     back.
//
// Every response is checked, so no library can look fast by doing nothing;
// a wrong value fails the benchmark. Every row also reports the process CPU
// time per request (cpu-ns/op). The Redis rows (names with ".redis") report
// the store commands and round trips per request (cmds/op, rt/op) and the
// time spent inside the round trips (rt-ns/op), timed in the client, so the
// report can tell the cost of the round trips from the work around them.
//
// Run it with scripts/bench.sh, which writes bench/RESULTS.md; the tests of
// this package check the harness itself (every scenario of every library
// answers the right values) without timing anything.
package bench
