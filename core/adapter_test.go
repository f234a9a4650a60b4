package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
)

func TestRemoteIPGivesOneFormPerClient(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:1234":                "192.0.2.1",
		"[::1]:1234":                    "::1",
		"[::ffff:192.0.2.1]:1234":       "192.0.2.1",
		"[fe80::1%eth0]:1234":           "fe80::1%eth0",
		"[2001:DB8:0:0:0:0:0:1]:1234":   "2001:db8::1",
		"2001:db8::1":                   "2001:db8::1",
		"192.0.2.1":                     "192.0.2.1",
		"@":                             "@",
		"":                              "",
		"[fe80::1%eth0%weird]:1234":     "fe80::1%eth0%weird",
		"[::ffff:192.0.2.1%eth0]:1234":  "192.0.2.1",
		"not an address, not even once": "not an address, not even once",
	} {
		assert.Equal(t, want, session.RemoteIP(addr), addr)
	}
}

func TestCanonicalIPAllocatesOnlyWhenItChangesTheAddress(t *testing.T) {
	for _, ip := range []string{"192.0.2.1", "::1", "fe80::1%eth0", "2001:db8::1"} {
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = session.CanonicalIP(ip) }), ip)
	}
}

func TestPanickingSeesOnlyTheDeferredCallsOfAPanic(t *testing.T) {
	require.False(t, session.Panicking())
	var during, afterRecover bool
	func() {
		defer func() {
			during = session.Panicking()
			_ = recover()
			afterRecover = session.Panicking() // still unwinding: a recovery middleware writing its 500
		}()
		panic("handler bug")
	}()
	assert.True(t, during)
	assert.True(t, afterRecover)
	assert.False(t, session.Panicking(), "after the recovery returned")
	func() {
		defer func() { assert.False(t, session.Panicking(), "an ordinary deferred call") }()
	}()
}

func TestWriteErrorDropsTheHandlersBodyAndCachingHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	h := rec.Header()
	for k, v := range map[string]string{
		"Cache-Control": "public, max-age=3600", "Etag": `"v1"`, "Last-Modified": "Mon, 02 Jan 2006 15:04:05 GMT",
		"Expires": "Mon, 02 Jan 2036 15:04:05 GMT", "Content-Type": "application/json", "Content-Length": "13",
		"Content-Disposition": "attachment", "Content-Encoding": "br", "Set-Cookie": "theme=dark", "X-Request-Id": "7",
	} {
		h.Set(k, v)
	}
	session.WriteError(rec, false)
	res := rec.Result()
	assert.Equal(t, session.ErrorStatus, res.StatusCode)
	assert.Equal(t, session.ErrorBody, rec.Body.String())
	assert.Equal(t, http.Header{
		"Cache-Control":          {"no-store"},
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
		"Set-Cookie":             {"theme=dark"}, // the handler's other headers stay
		"X-Request-Id":           {"7"},
	}, res.Header)
}

func TestErrorHeaderKeepsAnOuterEncoding(t *testing.T) {
	h := http.Header{"Content-Encoding": {"gzip"}}
	session.ErrorHeader(h, true)
	assert.Equal(t, "gzip", h.Get("Content-Encoding"), "an outer gzip middleware encodes the error body too")
	session.ErrorHeader(h, false)
	assert.Empty(t, h.Values("Content-Encoding"), "the handler's encoding describes the dropped body")
}

func TestResponseLostOnlyWhenAWrapperTimedOut(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	rec := httptest.NewRecorder()
	assert.False(t, session.ResponseLost(live, rec), "a live request")
	assert.False(t, session.ResponseLost(expired, rec), "a writer that still accepts writes")
	assert.Empty(t, rec.Body.String(), "the probe writes nothing")

	lost := make(chan bool, 1)
	h := http.TimeoutHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		lost <- session.ResponseLost(r.Context(), w)
	}), 10*time.Millisecond, "timed out")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.True(t, <-lost, "http.TimeoutHandler answered 503")
}
