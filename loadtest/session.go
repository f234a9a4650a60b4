package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// ConcurrentResult is what ConcurrentSession found.
type ConcurrentResult struct {
	// Goroutines is how many goroutines shared the session.
	Goroutines int
	// Acknowledged counts the writes answered 204.
	Acknowledged int
	// Survived counts acknowledged writes read back with their value.
	Survived int
	// Errors counts failed requests (transport errors, unexpected
	// statuses).
	Errors int
	// Split counts responses that set a session cookie other than the
	// shared session's: the session split in two.
	Split int
	// Problems describes the first failures.
	Problems []string
}

// String returns a one-line summary.
func (r *ConcurrentResult) String() string {
	return fmt.Sprintf("one session, %d goroutines: %d writes acknowledged, %d survived, %d lost, %d errors, %d split",
		r.Goroutines, r.Acknowledged, r.Survived, r.Acknowledged-r.Survived, r.Errors, r.Split)
}

// ConcurrentSession logs one client in to the demo at target, then lets
// goroutines goroutines share its cookie and each write writesEach values
// under keys of its own (PUT /api/values/g<i>w<j>), all at once, and reads
// every key back. Requests on one session that run at the same time each
// commit their own change; none may undo another's. It returns an error
// only when the login fails.
func ConcurrentSession(ctx context.Context, target string, goroutines, writesEach int) (*ConcurrentResult, error) {
	if goroutines <= 0 || writesEach <= 0 {
		return nil, errors.New("loadtest: ConcurrentSession needs goroutines and writes")
	}
	target = strings.TrimSuffix(target, "/")
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	tr := newTransport(goroutines)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Jar: jar, Transport: tr, Timeout: DefaultTimeout}
	tag := randomHex(4)
	do := func(method, path, ctype, body string) (int, string, []*http.Cookie, error) {
		var rd io.Reader
		if method != http.MethodGet {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target+path, rd)
		if err != nil {
			return 0, "", nil, err
		}
		req.Header.Set("User-Agent", DefaultUserAgent)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Cookies(), err
	}
	user := "one-" + tag
	status, body, _, err := do(http.MethodPost, "/api/login", formType, url.Values{"user": {user}}.Encode())
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("loadtest: login: %d %q %v", status, body, err)
	}
	u, _ := url.Parse(target)
	var sid string
	for _, c := range jar.Cookies(u) {
		if c.Name == session.DefaultCookieName {
			sid = c.Value
		}
	}
	if sid == "" {
		return nil, errors.New("loadtest: login set no session cookie")
	}

	res := &ConcurrentResult{Goroutines: goroutines}
	var mu sync.Mutex
	fail := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		res.Errors++
		if len(res.Problems) < maxProblems {
			res.Problems = append(res.Problems, fmt.Sprintf(format, a...))
		}
	}
	acked := make([][]bool, goroutines)
	value := func(g, w int) string { return fmt.Sprintf("%s.g%d.w%d", tag, g, w) }
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		acked[g] = make([]bool, writesEach)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for w := range writesEach {
				key := fmt.Sprintf("g%dw%d", g, w)
				status, body, cookies, err := do(http.MethodPut, "/api/values/"+key, "text/plain", value(g, w))
				for _, c := range cookies {
					if c.Name == session.DefaultCookieName && c.Value != sid {
						mu.Lock()
						res.Split++
						mu.Unlock()
					}
				}
				if err != nil || status != http.StatusNoContent {
					fail("PUT %s: %d %q %v", key, status, truncate(body, 100), err)
					continue
				}
				acked[g][w] = true
			}
		}()
	}
	close(start)
	wg.Wait()

	for g := range goroutines {
		for w := range writesEach {
			if !acked[g][w] {
				continue
			}
			res.Acknowledged++
			key := fmt.Sprintf("g%dw%d", g, w)
			status, body, _, err := do(http.MethodGet, "/api/values/"+key, "", "")
			switch {
			case err != nil || (status != http.StatusOK && status != http.StatusNotFound):
				fail("GET %s: %d %q %v", key, status, truncate(body, 100), err)
			case status == http.StatusOK && body == value(g, w):
				res.Survived++
			default:
				fail("GET %s: %d %q: the acknowledged write is lost", key, status, truncate(body, 100))
			}
		}
	}
	status, body, _, err = do(http.MethodGet, "/api/peek", "", "")
	var st State
	if err != nil || status != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil || st.User != user {
		fail("GET /api/peek after the writes: %d %q %v, want user %q", status, truncate(body, 100), err, user)
	}
	return res, nil
}

// State is the JSON body of the demos' /api/session, /api/peek and
// /api/login.
type State struct {
	Views int    `json:"views"`
	User  string `json:"user"`
}

func newTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
}

// Flood sends n requests GET /api/session without a cookie to the demo at
// target from workers goroutines, as a client that keeps no cookies would,
// and returns the session IDs the responses set (each such request counts
// a view and so stores a new session). Every request must answer 200.
func Flood(ctx context.Context, target string, n, workers int) ([]string, error) {
	target = strings.TrimSuffix(target, "/")
	workers = max(1, min(workers, n))
	tr := newTransport(workers)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: DefaultTimeout}
	ids := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				status, _, cookies, err := get(ctx, hc, target+"/api/session", "")
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("loadtest: flood request %d: %w", i, err) })
					return
				}
				for _, c := range cookies {
					if c.Name == session.DefaultCookieName && c.MaxAge >= 0 {
						ids[i] = c.Value
					}
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return ids, firstErr
}

// CountLive returns how many of the session IDs ids still find their
// session in the demo at target: it sends each as the cookie of
// GET /api/peek, which changes nothing, and counts the answers with a view
// count above zero. The requests must look like the ones that made the
// sessions (same client IP, User-Agent DefaultUserAgent), as Flood's do.
func CountLive(ctx context.Context, target string, ids []string, workers int) (int, error) {
	target = strings.TrimSuffix(target, "/")
	workers = max(1, min(workers, len(ids)))
	tr := newTransport(workers)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: DefaultTimeout}
	var next, live atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				if ids[i] == "" {
					continue
				}
				status, body, _, err := get(ctx, hc, target+"/api/peek", ids[i])
				var st State
				if err == nil && (status != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil) {
					err = fmt.Errorf("status %d %q", status, truncate(body, 100))
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("loadtest: peek %d: %w", i, err) })
					return
				}
				if st.Views > 0 {
					live.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return int(live.Load()), firstErr
}

// get sends GET url with the session cookie sid (none when "").
func get(ctx context.Context, hc *http.Client, url, sid string) (int, string, []*http.Cookie, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("User-Agent", DefaultUserAgent)
	if sid != "" {
		req.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: sid})
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), resp.Cookies(), err
}
