package session_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

func benchManager(b *testing.B) (*session.Manager, *session.MemoryStore) {
	mem := newMem(b, session.WithReapInterval(0))
	b.Cleanup(func() { mem.Close() })
	m, err := session.NewManager(session.WithStore(mem))
	if err != nil {
		b.Fatal(err)
	}
	return m, mem
}

// seed stores a session holding n=42 and returns its cookie value.
func seed(b *testing.B, m *session.Manager, x *sessiontest.Exchange) string {
	h := begin(m, x)
	s, _ := h.Session()
	s.Set("n", 42)
	if err := h.Commit(); err != nil {
		b.Fatal(err)
	}
	return x.LastCookie().Value
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
		h := begin(m, x)
		if err := h.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadReadCommit(b *testing.B) {
	m, _ := benchManager(b)
	x := benchExchange()
	x.CookieMap = map[string][]string{"sid": {seed(b, m, benchExchange())}}
	b.ReportAllocs()
	for b.Loop() {
		h := begin(m, x)
		s, err := h.Session()
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := session.GetAs[int](s, "n"); n != 42 {
			b.Fatalf("n = %d", n)
		}
		if err := h.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadWriteCommit(b *testing.B) {
	m, _ := benchManager(b)
	x := benchExchange()
	x.CookieMap = map[string][]string{"sid": {seed(b, m, benchExchange())}}
	want := 43
	b.ReportAllocs()
	for b.Loop() {
		h := begin(m, x)
		s, err := h.Session()
		if err != nil {
			b.Fatal(err)
		}
		n, _ := session.GetAs[int](s, "n")
		if n+1 != want {
			b.Fatalf("n = %d, want %d", n, want-1)
		}
		s.Set("n", n+1)
		if err := h.Commit(); err != nil {
			b.Fatal(err)
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
			b.Fatal(err)
		}
	}
}

func BenchmarkParallelReadHotSession(b *testing.B) {
	m, _ := benchManager(b)
	cookie := seed(b, m, benchExchange())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		x := benchExchange()
		x.CookieMap = map[string][]string{"sid": {cookie}}
		for pb.Next() {
			h := begin(m, x)
			s, err := h.Session()
			if err != nil || s.Get("n") != 42 {
				b.Fatal("wrong value", err)
			}
			h.Commit()
		}
	})
}

func BenchmarkParallelWriteDistinctSessions(b *testing.B) {
	m, _ := benchManager(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		x := benchExchange()
		x.CookieMap = map[string][]string{"sid": {seed(b, m, benchExchange())}}
		want := 43
		for pb.Next() {
			h := begin(m, x)
			s, err := h.Session()
			if err != nil {
				b.Fatal(err)
			}
			n, _ := session.GetAs[int](s, "n")
			if n+1 != want {
				b.Fatalf("n = %d, want %d", n, want-1)
			}
			s.Set("n", n+1)
			if err := h.Commit(); err != nil {
				b.Fatal(err)
			}
			want++
		}
	})
}

func BenchmarkMemoryStoreParallel(b *testing.B) {
	ctx := context.Background()
	for _, op := range []string{"Get", "Set"} {
		b.Run(op, func(b *testing.B) {
			s := newMem(b, session.WithReapInterval(0))
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
					if op == "Get" {
						if _, err := s.Get(ctx, k); err != nil {
							b.Fatal(err)
						}
					} else if err := s.Set(ctx, k, data, exp); err != nil {
						b.Fatal(err)
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
				b.Fatal(err)
			}
		}
	})
}
