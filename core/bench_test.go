package session_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// Inside a measured loop, require and assert are called only once a check
// has failed: each call's t.Helper bookkeeping (runtime.Callers under the
// benchmark's mutex) costs about 350 ns, several times what BenchmarkUntouched
// measures. The request helpers return errors, because RunParallel runs them
// on goroutines other than the benchmark's, where only assert may report.

func benchManager(b *testing.B) (*session.Manager, *session.MemoryStore) {
	mem := testenv.MemoryStore(b, session.WithReapInterval(0))
	b.Cleanup(func() { mem.Close() })
	m, err := session.NewManager(session.WithStore(mem))
	require.NoError(b, err)
	return m, mem
}

// seed stores a session holding n=42 and returns its cookie value.
func seed(m *session.Manager, x *sessiontest.Exchange) (string, error) {
	h := begin(m, x)
	s, _ := h.Session()
	s.Set("n", 42)
	if err := h.Commit(); err != nil {
		return "", err
	}
	return x.LastCookie().Value, nil
}

// mustSeed is seed on the benchmark's own goroutine.
func mustSeed(b *testing.B, m *session.Manager) string {
	cookie, err := seed(m, benchExchange())
	require.NoError(b, err)
	return cookie
}

// readSeeded runs one request on x that reads the seeded n=42.
func readSeeded(m *session.Manager, x *sessiontest.Exchange) error {
	h := begin(m, x)
	s, err := h.Session()
	if err != nil {
		return err
	}
	if n, _ := session.GetAs[int](s, "n"); n != 42 {
		return fmt.Errorf("n = %d, want 42", n)
	}
	return h.Commit()
}

// increment runs one request on x that finds n = want-1 and stores want.
func increment(m *session.Manager, x *sessiontest.Exchange, want int) error {
	h := begin(m, x)
	s, err := h.Session()
	if err != nil {
		return err
	}
	n, _ := session.GetAs[int](s, "n")
	if n+1 != want {
		return fmt.Errorf("n = %d, want %d", n, want-1)
	}
	s.Set("n", n+1)
	return h.Commit()
}

func benchExchange() *sessiontest.Exchange {
	return &sessiontest.Exchange{IP: "192.0.2.1", Headers: map[string]string{
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}}
}

func BenchmarkUntouched(b *testing.B) {
	m, _ := benchManager(b)
	x := benchExchange()
	b.ReportAllocs()
	for b.Loop() {
		if err := begin(m, x).Commit(); err != nil {
			require.NoError(b, err)
		}
	}
}

func BenchmarkLoadReadCommit(b *testing.B) {
	m, _ := benchManager(b)
	x := benchExchange()
	x.CookieMap = map[string][]string{"sid": {mustSeed(b, m)}}
	b.ReportAllocs()
	for b.Loop() {
		if err := readSeeded(m, x); err != nil {
			require.NoError(b, err)
		}
	}
}

func BenchmarkLoadWriteCommit(b *testing.B) {
	m, _ := benchManager(b)
	x := benchExchange()
	x.CookieMap = map[string][]string{"sid": {mustSeed(b, m)}}
	want := 43
	b.ReportAllocs()
	for b.Loop() {
		if err := increment(m, x, want); err != nil {
			require.NoError(b, err)
		}
		want++
	}
}

func BenchmarkNewSession(b *testing.B) {
	m, _ := benchManager(b)
	b.ReportAllocs()
	for b.Loop() {
		x := benchExchange()
		h := begin(m, x)
		s, _ := h.Session()
		s.Set("n", 1)
		if err := h.Commit(); err != nil {
			require.NoError(b, err)
		}
	}
}

func BenchmarkParallelReadHotSession(b *testing.B) {
	m, _ := benchManager(b)
	cookie := mustSeed(b, m)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		x := benchExchange()
		x.CookieMap = map[string][]string{"sid": {cookie}}
		for pb.Next() {
			if err := readSeeded(m, x); err != nil {
				assert.NoError(b, err)
				return
			}
		}
	})
}

func BenchmarkParallelWriteDistinctSessions(b *testing.B) {
	m, _ := benchManager(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		cookie, err := seed(m, benchExchange())
		if !assert.NoError(b, err) {
			return
		}
		x := benchExchange()
		x.CookieMap = map[string][]string{"sid": {cookie}}
		want := 43
		for pb.Next() {
			if err := increment(m, x, want); err != nil {
				assert.NoError(b, err)
				return
			}
			want++
		}
	})
}

func BenchmarkMemoryStoreParallel(b *testing.B) {
	ctx := context.Background()
	for _, op := range []string{"Get", "Set"} {
		b.Run(op, func(b *testing.B) {
			s := testenv.MemoryStore(b, session.WithReapInterval(0))
			defer s.Close()
			const keys = 100000
			names := make([]string, keys)
			data := make([]byte, 200)
			exp := time.Now().Add(time.Hour)
			for i := range names {
				names[i] = session.FingerprintIDOnly(fmt.Sprintf("%043d", i), nil)
				s.Set(ctx, names[i], data, exp)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					k := names[i%keys]
					i += 7919
					var err error
					if op == "Get" {
						_, err = s.Get(ctx, k)
					} else {
						err = s.Set(ctx, k, data, exp)
					}
					if err != nil {
						assert.NoError(b, err, op)
						return
					}
				}
			})
		})
	}
}

func BenchmarkFingerprint(b *testing.B) {
	x := benchExchange()
	id := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	b.ReportAllocs()
	for b.Loop() {
		_ = session.FingerprintIDIPUserAgent(id, x)
	}
}

func BenchmarkBinaryCodec(b *testing.B) {
	var c session.BinaryCodec
	rec := &session.Record{Created: time.Now(), Accessed: time.Now(), Values: map[string]any{
		"user": "ann", "views": 17, "admin": false, "since": time.Now()}}
	for i := range 4 {
		rec.Values["k"+strconv.Itoa(i)] = "value"
	}
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf, _ = c.Encode(buf[:0], rec)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		data, _ := c.Encode(nil, rec)
		b.ReportAllocs()
		for b.Loop() {
			var r session.Record
			if err := c.Decode(data, &r); err != nil {
				require.NoError(b, err)
			}
		}
	})
}
