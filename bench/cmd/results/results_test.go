package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample is go test output for one framework, three runs of a few rows.
const sample = `bench-meta flags=-count 3
goos: linux
goarch: amd64
pkg: github.com/sessionkit/sessionkit/bench
cpu: Test CPU
BenchmarkSessions/nethttp/floor/read/serial-2         	 1000	       100.0 ns/op	       100.0 cpu-ns/op	       8 B/op	       1 allocs/op
BenchmarkSessions/nethttp/floor/read/serial-2         	 1000	       300.0 ns/op	       100.0 cpu-ns/op	       8 B/op	       1 allocs/op
BenchmarkSessions/nethttp/floor/read/serial-2         	 1000	       200.0 ns/op	       100.0 cpu-ns/op	       8 B/op	       1 allocs/op
BenchmarkSessions/nethttp/floor/untouched/serial-2    	 1000	       100.0 ns/op	       100.0 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkSessions/nethttp/sessionkit.mem/read/serial-2	 1000	      1200 ns/op	      1200 cpu-ns/op	    1000 B/op	      12 allocs/op
BenchmarkSessions/nethttp/sessionkit.mem/untouched/serial-2	 1000	 250 ns/op	250 cpu-ns/op	640 B/op	       3 allocs/op
BenchmarkSessions/nethttp/scs.mem/read/serial-2       	 1000	     20200 ns/op	     20200 cpu-ns/op	    9000 B/op	     198 allocs/op
BenchmarkSessions/nethttp/sessionkit.redis/read/serial-2	 100	 50000 ns/op	 1.000 cmds/op	  3100 cpu-ns/op	 1.000 rt/op	 47800 rt-ns/op	1000 B/op	20 allocs/op
BenchmarkSessions/nethttp/scs.redis/read/serial-2	 100	 90000 ns/op	 1.000 cmds/op	  10100 cpu-ns/op	 1.000 rt/op	 80800 rt-ns/op	9000 B/op	200 allocs/op
BenchmarkSessions/nethttp/sessionkit.redis/write/serial-2	 100	 90000 ns/op	 3.000 cmds/op	  2100 cpu-ns/op	 2.000 rt/op	 80000 rt-ns/op	1000 B/op	20 allocs/op
PASS
`

func TestParseMedians(t *testing.T) {
	d, err := parseBench(strings.NewReader(sample))
	require.NoError(t, err)
	got, _ := d.row("nethttp", "floor", "read", "serial").med("ns/op")
	assert.Equal(t, 200.0, got, "median of 100, 300, 200")
	assert.Equal(t, []string{"scs.mem"}, d.anchors("nethttp", false), "anchors")
	// (1200-200) / (20200-200) = 1/20
	r, ok := d.ratio("nethttp", "scs.mem", "read", "serial", "ns/op")
	assert.True(t, ok, "ratio: no data")
	assert.Equal(t, 0.05, r, "ratio")
	// (50000-200-47800) / (90000-200-80800) = 2/9
	r, ok = d.beyondRatio("nethttp", "scs.redis", "read")
	assert.True(t, ok, "cpu ratio: no data")
	assert.InDelta(t, 0.2225, r, 0.0005, "cpu ratio, want 2/9")
}

func TestTargetsMarked(t *testing.T) {
	d, err := parseBench(strings.NewReader(sample))
	require.NoError(t, err)
	var b strings.Builder
	render(&b, d)
	out := b.String()
	for _, want := range []string{
		"| untouched: allocs over the floor | ≤ 2 | ❌ +3 |",
		"| untouched: ns over the floor | ≤ 100 ns | ❌ +150 |",
		"| read: overhead vs the anchor's | ≤ 1/10 | ✅ 0.050 (1/20.0) vs scs.mem |",
		"| read: allocs over the floor | ≤ 20 | ✅ +11 |",
		"| Redis read: commands per request | 1 | ✅ 1 |",
		"| Redis write: commands per request | 2 | ❌ 3 |",
		"| Redis read: CPU beyond the round trips vs the anchor's | ≤ 1/5 | ❌ 0.222 (1/4.5) vs scs.redis |",
		"| write: overhead vs the anchor's | ≤ 1/8 | — (no data) |",
		"- cpu: Test CPU",
		"- flags: -count 3",
	} {
		assert.Contains(t, out, want, "the report lacks a line")
	}
	if t.Failed() {
		t.Log(out)
	}
}

func TestBusyWarning(t *testing.T) {
	for in, busy := range map[string]bool{
		"bench-meta cores=2\nbench-meta load average (1, 5, 15 min) before=0.20 0.5 0.7\n": false,
		"bench-meta cores=2\nbench-meta load average (1, 5, 15 min) after=3.10 2.0 1.0\n":  true,
	} {
		d, err := parseBench(strings.NewReader(in + sample))
		require.NoError(t, err)
		assert.Equal(t, busy, d.busyWarning() != "", "busyWarning for %q", in)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"PASS\n", // no results at all
		"BenchmarkSessions/nethttp/floor/read/serial-2 1000 abc ns/op\n",
		"BenchmarkSessions/nethttp/floor-2 1000 100 ns/op\n",
	} {
		_, err := parseBench(strings.NewReader(in))
		assert.Error(t, err, "parseBench(%q)", in)
	}
}

func TestMemscale(t *testing.T) {
	m, err := parseMemscale(strings.NewReader(
		"memscale size sessions=10 payload_bytes=200 bytes_per_session=380.5\n" +
			"memscale reap expired=5 max_get_us=6000\n"))
	require.NoError(t, err)
	d := &data{mem: m}
	var heapV, stallV verdict
	for _, tg := range d.targets() {
		if v, ok := tg.cells[""]; ok {
			if strings.Contains(tg.name, "heap") {
				heapV = v
			} else {
				stallV = v
			}
		}
	}
	assert.True(t, heapV.known && heapV.met, "380.5 B for a 200 B payload should meet ≤ 2×: %+v", heapV)
	assert.True(t, stallV.known && !stallV.met, "a 6 ms stall should miss ≤ 5 ms: %+v", stallV)
}
