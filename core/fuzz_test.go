package session_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// FuzzCookie feeds arbitrary cookie values (one or two of them) to a
// Manager: it must never panic, must never call the store for a value that
// is not a well-formed ID, and must never adopt a client-made ID.
func FuzzCookie(f *testing.F) {
	f.Add("", "")
	f.Add(strings.Repeat("A", 43), "")
	f.Add(strings.Repeat("A", 43), strings.Repeat("B", 43))
	f.Add("garbage", strings.Repeat("A", 43))
	f.Add(strings.Repeat("é", 22), "")
	f.Add(strings.Repeat("x", 9000), "y")
	mem := testenv.MemoryStore(f, session.WithReapInterval(0))
	count := testenv.NewCountingStore(mem)
	m, err := session.NewManager(session.WithStore(count))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, a, b string) {
		vals := []string{a}
		if b != "" {
			vals = append(vals, b)
		}
		x := &sessiontest.Exchange{IP: "192.0.2.1", CookieMap: map[string][]string{"sid": vals}}
		before := count.Total()
		h := begin(m, x)
		s, err := h.Session()
		require.NoError(t, err, "load failed")
		if wellFormed := session.ValidID(a) && (b == "" || b == a); !wellFormed {
			require.Equal(t, before, count.Total(), "store called for cookie values %q", vals)
		}
		require.True(t, s.IsNew(), "a fuzzed cookie found a stored session")
		s.Set("k", 1)
		require.NoError(t, h.Commit())
		c := x.LastCookie()
		require.NotNil(t, c, "new session did not get a cookie")
		require.True(t, session.ValidID(c.Value), "new session did not get a server-made ID: %q", c.Value)
		require.NotContains(t, []string{a, b}, c.Value, "new session kept a client-made ID")
		mem.Delete(x.Context(), session.FingerprintIDIPUserAgent(c.Value, x))
	})
}

// FuzzDecode feeds arbitrary bytes to BinaryCodec.Decode: it must return an
// error or a record, never panic, never allocate more than the stated bound
// (binaryBudgetC per input byte), and a record it accepts must survive
// another encode/decode round.
func FuzzDecode(f *testing.F) {
	var c session.BinaryCodec
	good, _ := c.Encode(nil, sampleRecord())
	f.Add(good)
	f.Add([]byte("SK\x01"))
	f.Add([]byte{})
	small, _ := c.Encode(nil, &session.Record{Values: map[string]any{"n": 1, "s": "x", "l": []any{1.5, nil}}})
	f.Add(small)
	// The shapes that broke the bound before: a gob value whose map count
	// is 2^32, and counts at every nesting level claiming the whole input.
	f.Add(gobRecord())
	f.Add(nestedCounts(64<<10, false))
	f.Add(nestedCounts(64<<10, true))
	// The costliest legitimate shape, and registered types (a struct with a
	// map and a slice, and the type the gob value was made for).
	maps, _ := c.Encode(nil, &session.Record{Values: map[string]any{"m": []any{nestedMaps(31), nestedMaps(3)}}})
	f.Add(maps)
	f.Add(custom("budget", `{"Name":"x","Tags":["a","b"],"Counts":{"a":1,"b":2}}`))
	f.Add(custom("budget", `{}`))
	f.Add(custom("P", `{"M":{"a":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, c, binaryBudgetC, data) })
}

// FuzzDecodeJSON is FuzzDecode for JSONCodec, whose bound is jsonBudgetC
// per input byte.
func FuzzDecodeJSON(f *testing.F) {
	var c session.JSONCodec
	good, _ := c.Encode(nil, &session.Record{Values: map[string]any{"s": "x", "n": 1, "l": []any{true, nil},
		"m": map[string]any{"k": 1.5}, "b": budgetType{Name: "x", Tags: []string{"a"}, Counts: map[string]int{"a": 1}}},
		Flashes: []any{"saved"}, Owner: "ann", MovedTo: "k", GraceUntil: time.Unix(5, 0)})
	f.Add(good)
	f.Add([]byte(`{"values":{"":{"":{"":{"":null}}}}}`))
	f.Add([]byte(`{"values":{"l":[[[[[[[[]]]]]]]],"e":[{},{},{}]}}`))
	f.Add([]byte(`{"created":"2026-01-01T00:00:00Z","values":null,"flashes":[1,2]}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, c, jsonBudgetC, data) })
}

// checkDecode is the body of the decode fuzzers: decoding data with c must
// stay within budgetC bytes per input byte, and a record it accepts must
// survive another encode/decode round.
func checkDecode(t *testing.T, c session.Codec, budgetC int, data []byte) {
	var r session.Record
	budget := decodeBudget(budgetC, len(data))
	alloc, err := measureDecode(c, data, &r, budget)
	require.LessOrEqual(t, alloc, budget, "decoding %d bytes allocated over the bound (err: %v)", len(data), err)
	if err != nil {
		return
	}
	again, err := c.Encode(nil, &r)
	require.NoError(t, err, "a decoded record does not encode")
	var r2 session.Record
	require.NoError(t, c.Decode(again, &r2), "re-encoded record does not decode")
	require.Len(t, r2.Values, len(r.Values), "round trip changed the record's values")
	require.Len(t, r2.Flashes, len(r.Flashes), "round trip changed the record's flashes")
	require.True(t, r2.Created.Equal(r.Created), "round trip changed the record's creation time: %v, then %v", r.Created, r2.Created)
}
