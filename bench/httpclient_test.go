package bench

import (
	"net/http"
	"net/url"
	"strings"
)

// recorder is a reusable http.ResponseWriter. Unlike httptest's recorder it
// can be reset, so a benchmark iteration allocates nothing of its own.
type recorder struct {
	header http.Header
	code   int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body = append(r.body, p...)
	return len(p), nil
}

// reset empties the recorder for the next request. Clearing the header map
// keeps its buckets, as a server's pooled response would.
func (r *recorder) reset() {
	clear(r.header)
	r.code = 0
	r.body = r.body[:0]
}

// httpClient drives an http.Handler (net/http, gin and echo routers) in
// process.
type httpClient struct {
	h    http.Handler
	name string // session cookie name, "" for the floor
	sent string // session cookie value sent, "" for none
	tmpl http.Request
	req  http.Request
	rec  recorder
}

func newHTTPClient(h http.Handler, cookieName, path string) *httpClient {
	c := &httpClient{h: h, name: cookieName, rec: recorder{header: make(http.Header)}}
	c.tmpl = http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: path},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{"User-Agent": {userAgent}},
		Body:       http.NoBody,
		Host:       "bench.test",
		RemoteAddr: clientAddr,
		RequestURI: path,
	}
	return c
}

// do serves one request. The request is copied afresh from the template
// each time: libraries that stash state in the request (gorilla/sessions
// keeps its registry in the request's context) must start clean, as they
// would on a real connection.
func (c *httpClient) do() (int, []byte, bool) {
	c.req = c.tmpl
	c.rec.reset()
	c.h.ServeHTTP(&c.rec, &c.req)
	return c.rec.code, c.rec.body, c.setValue() != ""
}

// setValue returns the session cookie value the last response set.
func (c *httpClient) setValue() string {
	if c.name == "" {
		return ""
	}
	for _, v := range c.rec.header["Set-Cookie"] {
		if len(v) > len(c.name) && v[len(c.name)] == '=' && strings.HasPrefix(v, c.name) {
			v = v[len(c.name)+1:]
			if i := strings.IndexByte(v, ';'); i >= 0 {
				v = v[:i]
			}
			return v
		}
	}
	return ""
}

func (c *httpClient) cookie() string { return c.setValue() }

func (c *httpClient) adopt() {
	if v := c.setValue(); v != "" && v != c.sent {
		c.useCookie(v)
	}
}

func (c *httpClient) useCookie(v string) {
	c.sent = v
	if v == "" {
		delete(c.tmpl.Header, "Cookie")
		return
	}
	c.tmpl.Header["Cookie"] = []string{c.name + "=" + v}
}
