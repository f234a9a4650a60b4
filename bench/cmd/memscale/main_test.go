package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun checks the program's accounting on a small store: every
// expiring session is swept, every live one stays, and the fields
// cmd/results reads are there. It times nothing.
func TestRun(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out, 20_000, 200, 0.5, 2, 10*time.Millisecond))
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		require.True(t, len(f) >= 2 && f[0] == "memscale", "unexpected line %q", line)
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			fields[f[1]+"."+k] = v
		}
	}
	for k, want := range map[string]string{
		"size.sessions": "20000", "size.payload_bytes": "200", "size.key_bytes": "43",
		"reap.expired": "10000", "reap.remaining": "10000", "reap.rounds": "2",
	} {
		assert.Equal(t, want, fields[k], k)
	}
	for _, k := range []string{"size.bytes_per_session", "reap.max_get_us", "reap.gets"} {
		v, err := strconv.ParseFloat(fields[k], 64)
		if assert.NoError(t, err, "%s = %q, want a number", k, fields[k]) {
			assert.Positive(t, v, k)
		}
	}
}

func TestKeyShape(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		k := key(i)
		require.Len(t, k, 43, "key(%d)", i)
		require.False(t, seen[k], "key(%d) = %q: all keys must be distinct", i, k)
		seen[k] = true
	}
}
