// Package loadtest proves sessionkit's reliability and security claims
// against the real demo programs (examples/nethttp, gin, echo, echov5,
// fiber and fiberv3) over real loopback HTTP: under load, with many concurrent
// clients, with the session store failing, with the demo process killed,
// and with hostile input.
//
// It has three parts:
//
//   - BuildDemos and StartDemo build the demo binaries with go build (from
//     the Go workspace this package lives in) and run them as processes on
//     127.0.0.1 with a free port, capturing their log.
//   - Run is the load driver: Config.Clients concurrent clients, each with
//     its own cookie jar, log in, write values that name the client, read
//     them back and count views, and at the end check that every
//     acknowledged write is there (Config.BeforeCheck may restart the
//     server first, so that the check reads through a new process). Its
//     Result counts lost writes (an acknowledged write or login that was
//     not read back) and leaks (a client seeing another client's user,
//     value or cookie), which must both be zero.
//   - ConcurrentSession, Flood and CountLive drive one session from many
//     goroutines, and flood a demo with cookie-less requests and count how
//     many of the sessions they made are still stored.
//
// The tests of this package (go test -race ./... in loadtest/) run all of
// that in a short form against the memory store, Redis, PostgreSQL and
// SQLite, kill a private redis-server and cut a TCP proxy to PostgreSQL in
// the middle of the load, stop a demo with SIGTERM under load, kill a demo
// with SIGKILL under load and check through a new process on the same
// store that nothing acknowledged was lost, and send the demos hostile
// cookies and headers. The command loadtest/cmd/loadtest is the long form.
// See README.md for the figures and the commands.
package loadtest
