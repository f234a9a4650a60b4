package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// Defaults of Config.
const (
	DefaultClients   = 20
	DefaultDuration  = 3 * time.Second
	DefaultTimeout   = 10 * time.Second
	DefaultKeys      = 8
	DefaultUserAgent = "sessionkit-loadtest/1"
)

// Config configures Run.
type Config struct {
	// Target is the demo's base URL, such as "http://127.0.0.1:43210".
	Target string
	// Clients is the number of concurrent clients, each with its own
	// cookie jar and so its own session. The default is DefaultClients.
	Clients int
	// Duration is how long the load runs before the final check. When
	// both Duration and Requests are zero it is DefaultDuration.
	Duration time.Duration
	// Requests, when positive, ends the load after this many requests in
	// all (spread evenly over the clients), or at Duration if that comes
	// first.
	Requests int
	// Timeout bounds each request, from dialling to the end of the body.
	// The default is DefaultTimeout.
	Timeout time.Duration
	// Keys is the number of distinct value keys each client writes, so
	// that values are overwritten as well as added. The default is
	// DefaultKeys.
	Keys int
	// ReadWriteOnly leaves out the requests that change the session ID
	// (logins after the first, logouts), for fault tests whose outage
	// would otherwise make the client lose its session.
	ReadWriteOnly bool
	// UserAgent is sent with every request; the session fingerprint covers
	// it. The default is DefaultUserAgent.
	UserAgent string
	// CookieName is the session cookie's name; the default is the core's,
	// "sid".
	CookieName string
	// Tag is put into every user name and value, so that runs against one
	// store can be told apart. The default is random.
	Tag string
	// Observe, when set, is called after every request, from the client's
	// goroutine: it must be safe for concurrent use.
	Observe func(Event)
	// BeforeCheck, when set, is called once the load has ended and before
	// the final check, so that a test can restart the server in between:
	// the final check then reads everything back from the new process with
	// the clients' cookies. Target must answer again when it returns.
	BeforeCheck func()
}

// Event describes one request Run made, for Config.Observe.
type Event struct {
	Client  int           // the client's number, from 0
	Op      string        // login, relogin, put, get, delete, peek, view, logout, check
	Start   time.Time     // when the request was sent
	Latency time.Duration // until the whole response was read, or the error
	Status  int           // the HTTP status; 0 when no response came
	Err     error         // a transport error, a timeout or an unexpected status
	Body    string        // the body of a response with status 400 or more (at most 512 bytes)
}

// Result is what Run found.
type Result struct {
	// Target and Clients are the Config's.
	Target  string
	Clients int
	// Requests counts every request of the load and the final check.
	Requests int64
	// Logins and Logouts count the successful ones.
	Logins, Logouts int64
	// Writes counts acknowledged value writes (PUT answered 204) and
	// deletes (DELETE answered 204).
	Writes int64
	// ReadsChecked counts value reads and session states during the load
	// that matched what the client had written.
	ReadsChecked int64
	// WritesChecked counts the values the final check read back and found
	// exactly as last acknowledged.
	WritesChecked int64
	// LoginsChecked counts the clients the final check found still logged
	// in (their session holding their user and views) after their last
	// acknowledged login.
	LoginsChecked int64
	// Lost counts acknowledged writes and logins that were not read back:
	// a value missing or older than the last acknowledged write, a view
	// count that went backwards, a session or its user that vanished
	// without a logout.
	Lost int64
	// Leaks counts what a client must never see: another client's user or
	// value, a cookie already given to another client, its own data after
	// a logout, a login that kept the old session ID, a session ID in an
	// error body.
	Leaks int64
	// Errors counts requests that failed: transport errors, timeouts and
	// unexpected statuses (such as 500).
	Errors int64
	// Uncertain counts values the final check could not judge because
	// the write that set them failed (it may or may not have landed).
	Uncertain int64
	// Resets counts sessions a failed request may have ended (a login or
	// logout without an answer) and that were indeed gone.
	Resets int64
	// Elapsed is the duration of the load, without the final check.
	Elapsed time.Duration
	// P50, P99 and Max are latencies of the requests that got a response.
	P50, P99, Max time.Duration
	// SessionIDs holds every distinct session ID the clients were given.
	SessionIDs []string
	// Problems describes the first lost writes, leaks and errors.
	Problems []string
}

// maxProblems bounds Result.Problems.
const maxProblems = 50

// String returns the one-line summary.
func (r *Result) String() string {
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Requests) / r.Elapsed.Seconds()
	}
	return fmt.Sprintf("loadtest: clients=%d requests=%d (%.0f/s) writes=%d writes-checked=%d logins=%d logins-checked=%d reads-checked=%d lost=%d leaks=%d errors=%d uncertain=%d resets=%d sessions=%d p50=%v p99=%v max=%v",
		r.Clients, r.Requests, rate, r.Writes, r.WritesChecked, r.Logins, r.LoginsChecked, r.ReadsChecked, r.Lost, r.Leaks, r.Errors,
		r.Uncertain, r.Resets, len(r.SessionIDs), r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
}

// Run drives the demo at cfg.Target with cfg.Clients concurrent clients
// until cfg.Duration has passed, cfg.Requests were made or ctx is done,
// then checks every value each client wrote. Each client has its own
// cookie jar; it logs in (POST /api/login) as a user named after it, then
// in a random mix writes values naming it (PUT /api/values/{key}), reads
// them back (GET /api/values/{key}), deletes some, reads its state
// (GET /api/peek), counts views (GET /api/session), and unless
// cfg.ReadWriteOnly logs in again (a new session ID) and logs out and in.
// Every answer is checked against what the client did.
//
// Run returns an error only for an invalid Config; what went wrong under
// load is in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	rs := &run{cfg: cfg, owner: make(map[string]int)}
	rs.tr = newTransport(cfg.Clients)
	defer rs.tr.CloseIdleConnections()

	clients := make([]*client, cfg.Clients)
	for i := range clients {
		c, err := rs.newClient(i)
		if err != nil {
			return nil, err
		}
		clients[i] = c
	}
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = time.Now().Add(cfg.Duration)
	}
	perClient := 0
	if cfg.Requests > 0 {
		perClient = max(cfg.Requests/cfg.Clients, 1)
	}

	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; perClient == 0 || n < perClient; n++ {
				if ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) {
					return
				}
				c.step(ctx)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	if cfg.BeforeCheck != nil {
		cfg.BeforeCheck()
		// The idle connections of the load may lead to a process that is
		// gone.
		rs.tr.CloseIdleConnections()
	}
	// The final check runs whatever ctx says: it is what the load was for.
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.check()
		}()
	}
	wg.Wait()

	res := &Result{Target: cfg.Target, Clients: cfg.Clients, Elapsed: elapsed}
	var lat []time.Duration
	for _, c := range clients {
		res.Requests += c.requests
		res.Logins += c.logins
		res.Logouts += c.logouts
		res.Writes += c.writes
		res.ReadsChecked += c.readsChecked
		res.WritesChecked += c.writesChecked
		res.LoginsChecked += c.loginsChecked
		res.Lost += c.lost
		res.Leaks += c.leaks
		res.Errors += c.errors
		res.Uncertain += c.uncertain
		res.Resets += c.resets
		lat = append(lat, c.latencies...)
	}
	res.Leaks += rs.sharedCookies.Load()
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50 = lat[len(lat)/2]
		res.P99 = lat[min(len(lat)*99/100, len(lat)-1)]
		res.Max = lat[len(lat)-1]
	}
	rs.mu.Lock()
	res.SessionIDs = make([]string, 0, len(rs.owner))
	for id := range rs.owner {
		res.SessionIDs = append(res.SessionIDs, id)
	}
	res.Problems = rs.problems
	rs.mu.Unlock()
	slices.Sort(res.SessionIDs)
	return res, nil
}

func (cfg *Config) fill() error {
	if cfg.Target == "" {
		return errors.New("loadtest: Config.Target is empty")
	}
	u, err := url.Parse(cfg.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("loadtest: Config.Target %q is not an http:// URL", cfg.Target)
	}
	cfg.Target = strings.TrimSuffix(cfg.Target, "/")
	if cfg.Clients < 0 || cfg.Requests < 0 || cfg.Duration < 0 || cfg.Timeout < 0 || cfg.Keys < 0 {
		return errors.New("loadtest: negative Config field")
	}
	if cfg.Clients == 0 {
		cfg.Clients = DefaultClients
	}
	if cfg.Duration == 0 && cfg.Requests == 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Keys == 0 {
		cfg.Keys = DefaultKeys
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.CookieName == "" {
		cfg.CookieName = session.DefaultCookieName
	}
	if cfg.Tag == "" {
		cfg.Tag = randomHex(4)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// run is the state shared by the clients of one Run.
type run struct {
	cfg           Config
	tr            *http.Transport
	mu            sync.Mutex
	owner         map[string]int // session ID → the client it was given to
	problems      []string
	sharedCookies atomic.Int64
}

func (rs *run) problem(format string, a ...any) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.problems) < maxProblems {
		rs.problems = append(rs.problems, fmt.Sprintf(format, a...))
	}
}

// claim records that client got session ID id and reports whether
// another client had been given it before.
func (rs *run) claim(id string, client int) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if o, ok := rs.owner[id]; ok && o != client {
		return true
	}
	rs.owner[id] = client
	return false
}

// want is what a client expects under one value key: one of vals, or
// nothing when absentOK. A failed write widens it, since the write may or
// may not have landed.
type want struct {
	vals     []string
	absentOK bool
}

func (w want) certain() bool { return len(w.vals)+boolInt(w.absentOK) == 1 }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// client is one simulated browser: a cookie jar, a user name and what it
// expects the server to hold.
type client struct {
	rs   *run
	id   int
	name string // user name; every value starts with name + "."
	hc   *http.Client
	jar  http.CookieJar
	base *url.URL
	rng  *mrand.Rand

	loggedIn   bool
	maybeReset bool // a login or logout failed without an answer
	values     map[string]want
	viewsLo    int
	viewsHi    int
	seq        int
	ids        []string // every session ID this client held

	requests, logins, logouts, writes, readsChecked, writesChecked int64
	loginsChecked, lost, leaks, errors, uncertain, resets          int64
	latencies                                                      []time.Duration
}

func (rs *run) newClient(i int) (*client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	base, _ := url.Parse(rs.cfg.Target)
	var seed [32]byte
	rand.Read(seed[:])
	return &client{
		rs:     rs,
		id:     i,
		name:   fmt.Sprintf("c%d-%s", i, rs.cfg.Tag),
		jar:    jar,
		hc:     &http.Client{Jar: jar, Transport: rs.tr, Timeout: rs.cfg.Timeout},
		base:   base,
		rng:    mrand.New(mrand.NewChaCha8(seed)),
		values: make(map[string]want),
	}, nil
}

// response is one answer, or the error instead of it.
type response struct {
	status int
	body   string
	err    error
}

// do sends one request and reads the answer. wantStatus is the status a
// correct server answers; any other, or a transport error, counts as an
// error and is returned in err.
func (c *client) do(ctx context.Context, op, method, path, contentType, body string, wantStatus ...int) response {
	c.requests++
	var rd io.Reader
	if body != "" || method == http.MethodPut || method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.rs.cfg.Target+path, rd)
	if err != nil {
		panic(err) // our own URLs: a bug
	}
	req.Header.Set("User-Agent", c.rs.cfg.UserAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	var r response
	if err == nil {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		r = response{status: resp.StatusCode, body: string(b), err: rerr}
		if rerr == nil {
			c.takeCookies(resp)
		}
	} else {
		r.err = err
	}
	lat := time.Since(start)
	if r.err == nil && !slices.Contains(wantStatus, r.status) {
		r.err = fmt.Errorf("status %d, want %v: %q", r.status, wantStatus, truncate(r.body, 200))
	}
	if r.status != 0 {
		c.latencies = append(c.latencies, lat)
	}
	if r.status >= 400 {
		for _, id := range c.ids {
			if strings.Contains(r.body, id) {
				c.leak("%s %s: the %d body holds a session ID", method, path, r.status)
			}
		}
	}
	if r.err != nil {
		c.errors++
		c.rs.problem("client %d: %s %s: %v", c.id, method, path, r.err)
	}
	if f := c.rs.cfg.Observe; f != nil {
		ev := Event{Client: c.id, Op: op, Start: start, Latency: lat, Status: r.status, Err: r.err}
		if r.status >= 400 {
			ev.Body = truncate(r.body, 512)
		}
		f(ev)
	}
	return r
}

// unsent reports whether a request failed before any server saw it: its
// connection could not be dialled. For a PUT, DELETE or POST that is
// certain, since the transport retries these only when it wrote nothing
// of them; a failed write that was sent may or may not have landed. (A
// GET may be replayed after a server read it, so a dial error says
// nothing about the first attempt.)
func unsent(r response) bool {
	var op *net.OpError
	return r.status == 0 && errors.As(r.err, &op) && op.Op == "dial"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// takeCookies checks the session cookies a response set: a well-formed
// 256-bit ID never given to another client.
func (c *client) takeCookies(resp *http.Response) {
	for _, ck := range resp.Cookies() {
		if ck.Name != c.rs.cfg.CookieName || ck.MaxAge < 0 || ck.Value == "" {
			continue
		}
		if !session.ValidID(ck.Value) {
			c.leak("malformed session ID of %d characters", len(ck.Value))
			continue
		}
		if c.rs.claim(ck.Value, c.id) {
			c.rs.sharedCookies.Add(1)
			c.rs.problem("client %d: was given a session ID another client holds", c.id)
		}
		if !slices.Contains(c.ids, ck.Value) {
			c.ids = append(c.ids, ck.Value)
		}
	}
}

// sid returns the session ID in the client's jar, or "".
func (c *client) sid() string {
	for _, ck := range c.jar.Cookies(c.base) {
		if ck.Name == c.rs.cfg.CookieName {
			return ck.Value
		}
	}
	return ""
}

func (c *client) leak(format string, a ...any) {
	c.leaks++
	c.rs.problem("client %d: LEAK: "+format, append([]any{c.id}, a...)...)
}

func (c *client) loss(format string, a ...any) {
	c.lost++
	c.rs.problem("client %d: LOST: "+format, append([]any{c.id}, a...)...)
}

// step makes one request of the mix.
func (c *client) step(ctx context.Context) {
	if c.maybeReset {
		c.peek(ctx) // learn whether the session survived the failure first
		return
	}
	if !c.loggedIn {
		c.login(ctx, "login")
		return
	}
	r := c.rng.IntN(100)
	switch {
	case r < 35:
		c.put(ctx)
	case r < 60:
		if k, ok := c.someKey(); ok {
			c.get(ctx, "get", k, false)
		} else {
			c.put(ctx)
		}
	case r < 66:
		if k, ok := c.someKey(); ok {
			c.del(ctx, k)
		} else {
			c.peek(ctx)
		}
	case r < 80:
		c.peek(ctx)
	case r < 95:
		c.view(ctx)
	case c.rs.cfg.ReadWriteOnly:
		c.peek(ctx)
	case r < 98:
		c.login(ctx, "relogin")
	default:
		c.logout(ctx)
	}
}

func (c *client) someKey() (string, bool) {
	if len(c.values) == 0 {
		return "", false
	}
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys[c.rng.IntN(len(keys))], true
}

const formType = "application/x-www-form-urlencoded"

// state is the JSON of /api/session, /api/peek and /api/login.
type state struct {
	Views *int    `json:"views"`
	User  *string `json:"user"`
}

func (c *client) parseState(op, body string) (state, bool) {
	var st state
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Views == nil || st.User == nil {
		c.errors++
		c.rs.problem("client %d: %s: bad JSON %q", c.id, op, truncate(body, 200))
		return st, false
	}
	return st, true
}

// checkState compares a session state the server reported with what the
// client expects; counted tells whether the request counted a view.
func (c *client) checkState(op string, st state, counted bool) {
	views, user := *st.Views, *st.User
	if user != "" && user != c.name {
		c.leak("%s: saw user %q", op, user)
		return
	}
	if c.maybeReset {
		c.maybeReset = false
		if user == "" && c.loggedIn {
			// The failed login or logout did end the session: start over.
			c.resets++
			c.loggedIn = false
			for k := range c.values {
				c.values[k] = want{absentOK: true}
			}
			c.viewsLo, c.viewsHi = views, views
			return
		}
	}
	lo, hi := c.viewsLo, c.viewsHi
	if counted {
		lo, hi = lo+1, hi+1
	}
	switch {
	case views < lo:
		c.loss("%s: views %d, want %d..%d", op, views, lo, hi)
	case views > hi:
		c.leak("%s: views %d, want %d..%d: someone else counted views in this session", op, views, lo, hi)
	case c.loggedIn && user == "":
		c.loss("%s: the session lost its user", op)
		c.loggedIn = false
	default:
		c.readsChecked++
	}
	c.viewsLo, c.viewsHi = views, views
}

// login logs in as c.name: a new session ID (the old one must not come
// back), the user set, views and values kept.
func (c *client) login(ctx context.Context, op string) {
	before := c.sid()
	r := c.do(ctx, op, http.MethodPost, "/api/login", formType, url.Values{"user": {c.name}}.Encode(), http.StatusOK)
	if r.err != nil {
		if r.status == 0 && !unsent(r) {
			c.maybeReset = c.loggedIn
		}
		return
	}
	st, ok := c.parseState(op, r.body)
	if !ok {
		return
	}
	if *st.User != c.name {
		c.leak("%s: answered user %q", op, *st.User)
		return
	}
	after := c.sid()
	if before != "" && after == before {
		// No new ID: the session the login would have moved was gone
		// (evicted, or destroyed by a racing request), and the protocol
		// writes nothing then. That loses the login, but only if the old
		// ID is dead: if it still finds a session, the ID survived a
		// privilege change (fixation).
		if p := c.do(ctx, op+" check", http.MethodGet, "/api/peek", "", "", http.StatusOK); p.err == nil {
			if st, ok := c.parseState(op+" check", p.body); ok && *st.Views == 0 && *st.User == "" {
				c.loss("%s: the session ended under the login, which handed out no new ID", op)
				c.loggedIn, c.viewsLo, c.viewsHi = false, 0, 0
				for k := range c.values {
					c.values[k] = want{absentOK: true} // gone with the session, counted once above
				}
				return
			}
		}
	}
	if after == "" || after == before {
		c.leak("%s: the session ID did not change at login", op)
	}
	c.logins++
	c.loggedIn = true
	c.maybeReset = false
	c.checkState(op, st, false)
}

// logout destroys the session, then checks that neither the state nor a
// value written before comes back.
func (c *client) logout(ctx context.Context) {
	r := c.do(ctx, "logout", http.MethodPost, "/api/logout", formType, "", http.StatusOK)
	if r.err != nil {
		if r.status == 0 && !unsent(r) {
			c.maybeReset = true
		}
		return
	}
	c.logouts++
	c.loggedIn = false
	c.viewsLo, c.viewsHi = 0, 0
	old, hadOld := c.someKey()
	for k := range c.values {
		c.values[k] = want{absentOK: true}
	}
	if p := c.do(ctx, "peek", http.MethodGet, "/api/peek", "", "", http.StatusOK); p.err == nil {
		if st, ok := c.parseState("peek after logout", p.body); ok {
			if *st.Views != 0 || *st.User != "" {
				c.leak("peek after logout: views %d user %q, want a new empty session", *st.Views, *st.User)
			} else {
				c.readsChecked++
			}
		}
	}
	if hadOld {
		c.get(ctx, "get", old, false)
	}
}

func (c *client) newValue(key string) string {
	c.seq++
	// A value names the client, the key and the write, and varies in size.
	pad := strings.Repeat("x", c.rng.IntN(200))
	return c.name + "." + key + "." + strconv.Itoa(c.seq) + "." + pad
}

func (c *client) put(ctx context.Context) {
	key := "k" + strconv.Itoa(c.rng.IntN(c.rs.cfg.Keys))
	val := c.newValue(key)
	r := c.do(ctx, "put", http.MethodPut, "/api/values/"+key, "text/plain", val, http.StatusNoContent)
	if unsent(r) {
		return // the value stands as it was
	}
	if r.err != nil {
		w, ok := c.values[key]
		if !ok {
			w.absentOK = true
		}
		w.vals = append(slices.Clip(w.vals), val)
		c.values[key] = w
		return
	}
	c.writes++
	c.values[key] = want{vals: []string{val}}
}

func (c *client) del(ctx context.Context, key string) {
	r := c.do(ctx, "delete", http.MethodDelete, "/api/values/"+key, "", "", http.StatusNoContent)
	if unsent(r) {
		return
	}
	if r.err != nil {
		w := c.values[key]
		w.absentOK = true
		c.values[key] = w
		return
	}
	c.writes++
	c.values[key] = want{absentOK: true}
}

// get reads key back and checks it against what the client wrote. final
// marks the final check, which counts WritesChecked.
func (c *client) get(ctx context.Context, op, key string, final bool) {
	w := c.values[key]
	r := c.do(ctx, op, http.MethodGet, "/api/values/"+key, "", "", http.StatusOK, http.StatusNotFound)
	if r.err != nil {
		return
	}
	switch {
	case r.status == http.StatusNotFound && w.absentOK:
		c.values[key] = want{absentOK: true}
	case r.status == http.StatusNotFound:
		c.loss("%s %s: missing, want %q", op, key, truncate(w.vals[len(w.vals)-1], 40))
		c.values[key] = want{absentOK: true}
		return
	case !strings.HasPrefix(r.body, c.name+"."):
		c.leak("%s %s: got another client's value %q", op, key, truncate(r.body, 40))
		return
	case !c.loggedIn && !slices.Contains(w.vals, r.body):
		c.leak("%s %s: got an old value of its own after a logout", op, key)
		return
	case !slices.Contains(w.vals, r.body):
		c.loss("%s %s: got %q, want one of %d values", op, key, truncate(r.body, 40), len(w.vals))
		c.values[key] = want{vals: []string{r.body}}
		return
	default:
		c.values[key] = want{vals: []string{r.body}}
	}
	c.readsChecked++
	if final {
		if w.certain() {
			c.writesChecked++
		} else {
			c.uncertain++
		}
	}
}

func (c *client) peek(ctx context.Context) {
	r := c.do(ctx, "peek", http.MethodGet, "/api/peek", "", "", http.StatusOK)
	if r.err != nil {
		return
	}
	if st, ok := c.parseState("peek", r.body); ok {
		c.checkState("peek", st, false)
	}
}

func (c *client) view(ctx context.Context) {
	r := c.do(ctx, "view", http.MethodGet, "/api/session", "", "", http.StatusOK)
	if r.err != nil {
		c.viewsHi++ // it may have counted
		return
	}
	if st, ok := c.parseState("view", r.body); ok {
		c.checkState("view", st, true)
	}
}

// check is the final check: every value as last acknowledged, and the
// session's state. It does not depend on the load's context.
func (c *client) check() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if c.loggedIn || c.maybeReset {
		checked := c.readsChecked
		c.peek(ctx)
		if c.loggedIn && c.readsChecked > checked {
			c.loginsChecked++ // checkState found the user and the views
		}
	}
	keys := make([]string, 0, len(c.values))
	for k := range c.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		c.get(ctx, "check", k, true)
	}
}
