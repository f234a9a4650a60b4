package bench

import (
	"fmt"
	"net/http"

	"github.com/stretchr/testify/require"
)

// valueKey is the session value every scenario works on, and seeded the
// value the seed route stores in it.
const (
	valueKey = "n"
	seeded   = 42
)

// userAgent and clientAddr describe the one client every request comes
// from, so fingerprinting libraries see a stable client.
const (
	userAgent  = "sessionkit-bench/1"
	clientIP   = "127.0.0.1"
	clientAddr = clientIP + ":40000"
)

type scenarioKind int

const (
	kindUntouched scenarioKind = iota
	kindRead
	kindWrite
	kindNew
	kindSeed
)

// cookieUse says which session cookie a scenario's requests carry.
type cookieUse int

const (
	noCookie  cookieUse = iota // every request comes without one
	hotCookie                  // one seeded session, shared by every client
	ownCookie                  // a seeded session of the client's own
)

// A scenario is one route every subject mounts, with what its requests
// carry and what their responses must show.
type scenario struct {
	name   string
	path   string
	kind   scenarioKind
	reads  bool // the handler reads valueKey first
	cookie cookieUse
}

// scenarios are the benchmarked scenarios, in report order.
var scenarios = []*scenario{
	{name: "untouched", path: "/untouched", kind: kindUntouched, cookie: hotCookie},
	{name: "read", path: "/read", kind: kindRead, reads: true, cookie: hotCookie},
	{name: "write", path: "/write", kind: kindWrite, reads: true, cookie: ownCookie},
	{name: "new", path: "/new", kind: kindNew, cookie: noCookie},
}

// seedScenario is not benchmarked: it stores seeded in a new session and
// so makes the cookies the other scenarios send.
var seedScenario = &scenario{name: "seed", path: "/seed", kind: kindSeed, cookie: noCookie}

// routes are the scenarios every subject mounts.
var routes = append(scenarios[:len(scenarios):len(scenarios)], seedScenario)

// step is the library-independent part of a scenario handler that touches
// the session (every scenario but untouched). Given the value the session
// held under valueKey (nil when the scenario does not read it), it returns
// the value to store (store false: none) and the number to answer; ok false
// means the session held a wrong value and the handler must answer 500.
func (sc *scenario) step(held any) (next int, store bool, body int, ok bool) {
	switch sc.kind {
	case kindRead:
		n, ok := held.(int)
		return 0, false, n, ok && n == seeded
	case kindWrite:
		n, ok := held.(int)
		return n + 1, ok, n + 1, ok
	case kindNew:
		return 1, true, 1, true
	case kindSeed:
		return seeded, true, seeded, true
	}
	return 0, false, 0, false
}

// floorBody is what a bare handler without sessions answers for sc: the
// same shape of response as a library's handler, without the session work.
func (sc *scenario) floorBody() int {
	switch sc.kind {
	case kindRead, kindSeed:
		return seeded
	case kindNew:
		return 1
	}
	return 0
}

// okBody and wrongBody are the fixed response bodies.
var (
	okBody    = []byte("ok")
	wrongBody = []byte("wrong session value")
)

// appendBody appends the decimal body for n.
func appendBody(dst []byte, n int) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// parseBody parses a decimal body without allocating.
func parseBody(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// A client sends the requests of one scenario to one router in process,
// as one browser would. It is used by one goroutine at a time.
type client interface {
	// do sends the request and returns the response status, its body
	// (valid until the next call) and whether it set the session cookie.
	do() (status int, body []byte, setCookie bool)
	// cookie returns the value of the session cookie the last response
	// set, or "".
	cookie() string
	// adopt makes later requests carry the session cookie the last
	// response set, if it set one with a new value, as a browser does.
	adopt()
	// useCookie makes later requests carry the session cookie with value
	// v, or none when v is "".
	useCookie(v string)
}

// A target is one subject's router, built with every route mounted.
type target struct {
	// newClient returns a client for path that sends no cookie.
	newClient func(path string) client
	// redis meters the subject's Redis client; nil for the other stores.
	redis *redisMeter
	// floor marks the bare handler, which has no sessions to check.
	floor bool
	// hot is the cookie of the shared seeded session.
	hot string
}

// seed runs one real request through the seed route and returns the
// session cookie it set.
func (t *target) seed() (string, error) {
	c := t.newClient(seedScenario.path)
	status, body, set := c.do()
	if status != http.StatusOK {
		return "", fmt.Errorf("seed: status %d, body %q", status, body)
	}
	if n, ok := parseBody(body); !ok || n != seeded {
		return "", fmt.Errorf("seed: body %q, want %d", body, seeded)
	}
	if t.floor {
		return "", nil
	}
	if !set || c.cookie() == "" {
		return "", fmt.Errorf("seed: no session cookie set")
	}
	return c.cookie(), nil
}

// A driver sends one scenario's requests through one client and checks
// every response.
type driver struct {
	c     client
	sc    *scenario
	floor bool
	want  int // write: the value the next response must show
}

// newDriver returns a driver for sc on t, with the cookie sc calls for.
func (t *target) newDriver(sc *scenario) (*driver, error) {
	d := &driver{c: t.newClient(sc.path), sc: sc, floor: t.floor}
	switch sc.cookie {
	case hotCookie:
		if t.hot == "" && !t.floor {
			ck, err := t.seed()
			if err != nil {
				return nil, err
			}
			t.hot = ck
		}
		d.c.useCookie(t.hot)
	case ownCookie:
		ck, err := t.seed()
		if err != nil {
			return nil, err
		}
		d.c.useCookie(ck)
		d.want = seeded + 1
	}
	return d, nil
}

// step sends one request and checks its response.
func (d *driver) step() error {
	status, body, set := d.c.do()
	if status != http.StatusOK {
		return fmt.Errorf("%s: status %d, body %q", d.sc.name, status, body)
	}
	if d.sc.kind == kindUntouched {
		if string(body) != "ok" {
			return fmt.Errorf("untouched: body %q, want \"ok\"", body)
		}
		if set {
			return fmt.Errorf("untouched: the response set a session cookie")
		}
		return nil
	}
	n, ok := parseBody(body)
	if !ok {
		return fmt.Errorf("%s: body %q is not a number", d.sc.name, body)
	}
	if d.floor {
		return nil
	}
	switch d.sc.kind {
	case kindRead:
		if n != seeded {
			return fmt.Errorf("read: got %d, want %d", n, seeded)
		}
	case kindWrite:
		if n != d.want {
			return fmt.Errorf("write: got %d, want %d", n, d.want)
		}
		d.want++
		d.c.adopt()
	case kindNew:
		if n != 1 {
			return fmt.Errorf("new: got %d, want 1", n)
		}
		if !set {
			return fmt.Errorf("new: the response set no session cookie")
		}
	}
	return nil
}

// env is what building a subject needs from the test, benchmark or
// example it is built for: cleanups, and what require reports a failure
// with. testing.TB has it.
type env interface {
	Cleanup(f func())
	require.TestingT
}

// A subject is one library, or the bare floor, on one framework with one
// store.
type subject struct {
	fw    string // nethttp, gin, echo, echov5, fiber, fiberv3
	lib   string // floor, sessionkit, or the anchor's name
	store string // mem, cookie, redis; "" for the floor
	build func(tb env) *target
}

// name is the subject's part of a benchmark name: framework/lib.store.
func (s *subject) name() string {
	if s.store == "" {
		return s.fw + "/" + s.lib
	}
	return s.fw + "/" + s.lib + "." + s.store
}

// redis reports whether the subject keeps sessions in Redis.
func (s *subject) redis() bool { return s.store == "redis" }

// subjects are every subject, per framework: the floor, sessionkit, then
// the anchors.
var subjects = concat(nethttpSubjects, ginSubjects, echoSubjects, echov5Subjects, fiberSubjects, fiberv3Subjects)

func concat(lists ...[]subject) []subject {
	var all []subject
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}
