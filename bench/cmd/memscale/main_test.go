package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRun checks the program's accounting on a small store: every
// expiring session is swept, every live one stays, and the fields
// cmd/results reads are there. It times nothing.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out, 20_000, 200, 0.5, 2, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "memscale" {
			t.Fatalf("unexpected line %q", line)
		}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			fields[f[1]+"."+k] = v
		}
	}
	for k, want := range map[string]string{
		"size.sessions": "20000", "size.payload_bytes": "200", "size.key_bytes": "43",
		"reap.expired": "10000", "reap.remaining": "10000", "reap.rounds": "2",
	} {
		if fields[k] != want {
			t.Errorf("%s = %q, want %q", k, fields[k], want)
		}
	}
	for _, k := range []string{"size.bytes_per_session", "reap.max_get_us", "reap.gets"} {
		if v, err := strconv.ParseFloat(fields[k], 64); err != nil || v <= 0 {
			t.Errorf("%s = %q, want a positive number", k, fields[k])
		}
	}
}

func TestKeyShape(t *testing.T) {
	seen := map[string]bool{}
	for i := range 1000 {
		k := key(i)
		if len(k) != 43 || seen[k] {
			t.Fatalf("key(%d) = %q: want 43 characters, all keys distinct", i, k)
		}
		seen[k] = true
	}
}
