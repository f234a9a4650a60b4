package main

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample is go test output for one framework, three runs of a few rows,
// with no passes: plain `go test -count 3` output.
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
	assert.Empty(t, d.passes, "plain go test output labels no passes")
	e := d.single(key{"nethttp", "floor", "read", "serial"}, "ns/op")
	require.True(t, e.ok)
	assert.Equal(t, 200.0, e.center, "median of 100, 300, 200")
	assert.True(t, math.IsInf(e.lo, -1) && math.IsInf(e.hi, 1), "3 runs give no finite 95 %% interval: %+v", e)
	assert.Equal(t, []string{"scs.mem"}, d.anchors("nethttp", false), "anchors")
	// (1200-200) / (20200-200) = 1/20
	r := d.eval(expr{num: over("nethttp", "sessionkit.mem", "read", "serial", "ns/op"), den: over("nethttp", "scs.mem", "read", "serial", "ns/op")})
	require.True(t, r.ok, "ratio: no data")
	assert.Equal(t, 0.05, r.center, "ratio")
	assert.True(t, r.bound, "runs without passes are bounded, not paired")
	// (50000-200-47800) / (90000-200-80800) = 2/9
	r = d.eval(expr{num: beyond("nethttp", "sessionkit.redis", "read"), den: beyond("nethttp", "scs.redis", "read")})
	require.True(t, r.ok, "cpu ratio: no data")
	assert.InDelta(t, 0.2222, r.center, 0.0005, "cpu ratio, want 2/9")
}

// srow is one synthetic row: its name under BenchmarkSessions/ and its
// values in pass p (1-based).
type srow struct {
	name string
	at   func(p int) string
}

// synth writes go test output of passes passes over rows, each pass
// labelled as scripts/bench.sh labels it; with passes < 0 it writes -passes
// runs of each row one after another, unlabelled, as go test -count does.
func synth(passes int, rows ...srow) string {
	var b strings.Builder
	b.WriteString("bench-meta cores=2\n")
	line := func(r srow, p int) {
		fmt.Fprintf(&b, "BenchmarkSessions/%s-2\t1000\t%s\n", r.name, r.at(p))
	}
	if passes < 0 {
		b.WriteString("goos: linux\ngoarch: amd64\ncpu: Test CPU\n")
		for _, r := range rows {
			for p := 1; p <= -passes; p++ {
				line(r, p)
			}
		}
		return b.String()
	}
	for p := 1; p <= passes; p++ {
		fmt.Fprintf(&b, "pass: %d\ngoos: linux\ngoarch: amd64\ncpu: Test CPU\n", p)
		for _, r := range rows {
			line(r, p)
		}
		b.WriteString("PASS\n")
	}
	return b.String()
}

// load is what the machine did to a pass: every row of pass p runs this
// much slower. Pairing by pass should cancel it.
func load(p int) float64 { return 300 * float64(p%4) }

// memRow is an in-memory row: floor-relative ns/op (over, per pass, on top
// of a floor of 200 ns and the pass's load) and allocs/op.
func memRow(name string, over func(p int) float64, allocs float64) srow {
	return srow{name, func(p int) string {
		return fmt.Sprintf("%g ns/op\t%g allocs/op", 200+load(p)+over(p), allocs)
	}}
}

// redisRow is a serial Redis row: beyond the floor and the round trips it
// spends beyond(p) ns, and rt ns in cmds commands.
func redisRow(name string, beyond func(p int) float64, rt, cmds float64) srow {
	return srow{name, func(p int) string {
		return fmt.Sprintf("%g ns/op\t%g cmds/op\t1 rt/op\t%g rt-ns/op\t20 allocs/op", 200+load(p)+rt+beyond(p), cmds, rt)
	}}
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// spread returns values from lo to hi over 8 passes, in a scrambled order
// so that no pass is the extreme of every row.
func spread(lo, hi float64) func(int) float64 {
	order := []float64{3, 7, 0, 5, 2, 6, 1, 4} // a permutation of 0..7
	return func(p int) float64 { return lo + (hi-lo)*order[(p-1)%8]/7 }
}

// scenarioRows are the rows of fw where sessionkit's read overhead comes
// from read, its write overhead from write, and its new overhead is 0.25
// of the anchor's (clearly within a third).
func scenarioRows(fw, anchor string, read, write func(int) float64, allocs float64) []srow {
	rows := []srow{
		memRow(fw+"/floor/untouched/serial", constant(0), 1),
		memRow(fw+"/floor/read/serial", constant(0), 1),
		memRow(fw+"/floor/write/serial", constant(0), 1),
		memRow(fw+"/floor/new/serial", constant(0), 1),
		memRow(fw+"/sessionkit.mem/untouched/serial", spread(150, 250), 3),
		memRow(fw+"/sessionkit.mem/read/serial", read, 1+allocs),
		memRow(fw+"/sessionkit.mem/new/serial", spread(2000, 2400), 14),
	}
	if write != nil {
		rows = append(rows, memRow(fw+"/sessionkit.mem/write/serial", write, 14))
	}
	if anchor != "" {
		rows = append(rows, memRow(fw+"/"+anchor+"/new/serial", spread(9600, 10000), 45))
	}
	return rows
}

// knownAnswers is a run whose every mark is known:
//   - nethttp: read +0.70…0.90 µs (met), write +2.0…2.3 µs (missed),
//     read allocs +7 (met), new 0.20…0.25 of scs.mem's (met), Redis
//     commands 1 for read (met) and 3 for write (missed), Redis read CPU
//     beyond the round trips 0.25…0.31 of scs.redis's (missed);
//   - gin: read +0.80…1.20 µs, around the 1.0 µs limit (inconclusive),
//     read allocs +9 (missed);
//   - echo: no sessionkit write row (no data);
//   - chi: a framework the tool was never told of, with rows.
func knownAnswers() []srow {
	rows := scenarioRows("nethttp", "scs.mem", spread(700, 900), spread(2000, 2300), 7)
	rows = append(rows,
		redisRow("nethttp/sessionkit.redis/read/serial", spread(5000, 6200), 50000, 1),
		redisRow("nethttp/sessionkit.redis/write/serial", spread(9000, 9500), 90000, 3),
		redisRow("nethttp/scs.redis/read/serial", constant(20000), 60000, 1),
	)
	rows = append(rows, scenarioRows("gin", "gin-contrib.cookie", spread(800, 1200), spread(1000, 1100), 9)...)
	rows = append(rows, scenarioRows("echo", "echo-contrib.cookie", spread(500, 600), nil, 7)...)
	rows = append(rows, scenarioRows("chi", "", spread(500, 600), spread(900, 1000), 7)...)
	return rows
}

// cell returns the verdict of the target named name on fw.
func cell(t *testing.T, ts []target, name, fw string) verdict {
	t.Helper()
	for _, tg := range ts {
		if tg.name == name {
			v, ok := tg.cells[fw]
			require.True(t, ok, "target %q has no cell for %s", name, fw)
			return v
		}
	}
	require.Fail(t, "no target named "+name)
	return verdict{}
}

func TestTargetsMarkedByInterval(t *testing.T) {
	d, err := parseBench(strings.NewReader(synth(8, knownAnswers()...)))
	require.NoError(t, err)
	require.Len(t, d.passes, 8)
	ts := d.targets()
	for _, c := range []struct {
		target, fw string
		mark       mark
		value      string
	}{
		// 8 passes: the 95 % interval of the median is [min, max].
		{"read: time over the floor", "nethttp", met, "+0.80 µs [0.70, 0.90]"},
		{"write: time over the floor", "nethttp", missed, "+2.15 µs [2.00, 2.30]"},
		{"read: time over the floor", "gin", inconclusive, "+1.00 µs [0.80, 1.20]"},
		{"write: time over the floor", "echo", noData, ""},
		{"read: allocs over the floor", "nethttp", met, "+7"},
		{"read: allocs over the floor", "gin", missed, "+9"},
		{"untouched: allocs over the floor", "nethttp", met, "+2"},
		{"untouched: time over the floor", "nethttp", info, "+0.20 µs [0.15, 0.25]"},
		{"new: overhead vs the anchor's", "nethttp", met, "+2.20 µs = 0.22 [0.21, 0.24] of scs.mem's +9.80 µs"},
		{"new: overhead vs the anchor's", "chi", noData, "no anchor in frameworks.go"},
		{"Redis read: commands per request", "nethttp", met, "1"},
		{"Redis write: commands per request", "nethttp", missed, "3"},
		{"Redis new: commands per request", "nethttp", noData, ""},
		{"Redis read: CPU beyond the round trips vs the anchor's", "nethttp", missed, "+5.60 µs = 0.28 [0.25, 0.31] of scs.redis's +20.0 µs"},
	} {
		v := cell(t, ts, c.target, c.fw)
		assert.Equal(t, c.mark, v.mark, "%s on %s: %v", c.target, c.fw, v)
		assert.Equal(t, c.value, v.value, "%s on %s", c.target, c.fw)
	}

	var b strings.Builder
	render(&b, d)
	out := b.String()
	for _, want := range []string{
		"| target | limit | net/http | gin | echo | chi |", // frameworks from the data, in order
		"| read: time over the floor | ≤ +1.0 µs | ✅ +0.80 µs [0.70, 0.90] | inconclusive: +1.00 µs [0.80, 1.20] | ✅ +0.55 µs [0.50, 0.60] | ✅ +0.55 µs [0.50, 0.60] |",
		"| write: time over the floor | ≤ +1.5 µs | ❌ +2.15 µs [2.00, 2.30] | ✅ +1.05 µs [1.00, 1.10] | — (no data) | ✅ +0.95 µs [0.90, 1.00] |",
		"- chi: no anchor in bench/cmd/results/frameworks.go",
		"- runs per row: 8, one in each of 8 passes over every row",
	} {
		assert.Contains(t, out, want, "the report lacks a line")
	}
	assert.NotContains(t, out, "too few", "8 runs are enough for 95 %% intervals")
	assert.Regexp(t, regexp.MustCompile(`\*\*\d+ met, \d+ missed, [1-9]\d* inconclusive, [1-9]\d* without data\.\*\*`), out)
	if t.Failed() {
		t.Log(out)
	}
}

// The load of a pass weighs on every row of it; paired by pass, the
// overhead comes out exact, where bounds from the rows' own intervals
// cannot tell it from the limit.
func TestPairingByPassCancelsTheLoad(t *testing.T) {
	rows := []srow{
		memRow("nethttp/floor/read/serial", constant(0), 1),
		memRow("nethttp/sessionkit.mem/read/serial", constant(800), 8),
	}
	paired, err := parseBench(strings.NewReader(synth(8, rows...)))
	require.NoError(t, err)
	v := cell(t, paired.targets(), "read: time over the floor", "nethttp")
	assert.Equal(t, verdict{met, "+0.80 µs"}, v, "paired: the load cancels")

	unpaired, err := parseBench(strings.NewReader(synth(-8, rows...)))
	require.NoError(t, err)
	v = cell(t, unpaired.targets(), "read: time over the floor", "nethttp")
	// row [1000, 1900] − floor [200, 1100]: [−100, 1700], bounded (†).
	assert.Equal(t, verdict{inconclusive, "+0.80 µs [-0.10, 1.70] †"}, v, "unpaired: bounded from the two intervals")
}

func TestCommonPasses(t *testing.T) {
	o := func(pass ...string) []obs {
		var s []obs
		for _, p := range pass {
			s = append(s, obs{1, p})
		}
		return s
	}
	assert.Equal(t, []string{"1", "3"}, commonPasses([][]obs{o("1", "2", "3"), o("3", "1")}))
	assert.Empty(t, commonPasses([][]obs{o("1", "2"), o("1", "")}), "a run without a pass")
	assert.Empty(t, commonPasses([][]obs{o("1", "1"), o("1", "2")}), "two runs in one pass")
}

func TestIntervalOfTheMedian(t *testing.T) {
	// With 10 runs the 95 % interval is [2nd, 9th] of the sorted runs.
	e := summary([]float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, confidence)
	assert.Equal(t, 5.5, e.Center)
	assert.Equal(t, [2]float64{2, 9}, [2]float64{e.Lo, e.Hi})
	assert.Equal(t, "+5.50 [2.00, 9.00]", interval(est{center: 5.5, lo: 2, hi: 9, ok: true}, 1, true, ""))
	assert.Equal(t, "12", rowCell(est{center: 12, lo: 12, hi: 12, ok: true}))
	assert.Equal(t, "200 ±10%", rowCell(est{center: 200, lo: 190, hi: 220, ok: true}))
}

func TestJudge(t *testing.T) {
	e := func(lo, hi float64) est { return est{center: (lo + hi) / 2, lo: lo, hi: hi, ok: true} }
	assert.Equal(t, met, judge(e(0.8, 1.0), 1, "").mark, "the upper bound on the limit meets it")
	assert.Equal(t, inconclusive, judge(e(0.8, 1.01), 1, "").mark)
	assert.Equal(t, inconclusive, judge(e(1.0, 1.2), 1, "").mark, "the lower bound on the limit does not miss it")
	assert.Equal(t, missed, judge(e(1.01, 1.2), 1, "").mark)
	assert.Equal(t, inconclusive, judge(e(math.Inf(-1), math.Inf(1)), 1, "").mark, "too few runs")
	assert.Equal(t, noData, judge(est{}, 1, "").mark)
}

func TestFewRunsWarned(t *testing.T) {
	d, err := parseBench(strings.NewReader(synth(5, knownAnswers()...)))
	require.NoError(t, err)
	assert.Contains(t, d.fewRunsWarning(), "5 runs per row are too few")
	v := cell(t, d.targets(), "write: time over the floor", "nethttp")
	assert.Equal(t, inconclusive, v.mark, "a clear miss is still inconclusive on 5 runs: %v", v)
	v = cell(t, d.targets(), "read: time over the floor", "nethttp")
	assert.Equal(t, inconclusive, v.mark, "so is a clear pass: %v", v)

	d, err = parseBench(strings.NewReader(synth(-6, knownAnswers()...)))
	require.NoError(t, err)
	assert.Contains(t, d.fewRunsWarning(), "6 runs per row, not in passes, are too few")
	d, err = parseBench(strings.NewReader(synth(6, knownAnswers()...)))
	require.NoError(t, err)
	assert.Empty(t, d.fewRunsWarning(), "6 passes are enough")
}

func TestBusyWarning(t *testing.T) {
	for in, busy := range map[string]bool{
		"bench-meta cores=2\nbench-meta load average (1, 5, 15 min) before=0.20 0.5 0.7\n":      false,
		"bench-meta cores=2\nbench-meta load average (1, 5, 15 min) after=3.10 2.0 1.0\n":       true,
		"bench-meta cores=2\nbench-meta load average (1, 5, 15 min) after pass 3=2.5 2.0 1.0\n": true,
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
	assert.Equal(t, met, heapV.mark, "380.5 B for a 200 B payload should meet ≤ 2×: %v", heapV)
	assert.Equal(t, missed, stallV.mark, "a 6 ms stall should miss ≤ 5 ms: %v", stallV)
	assert.Contains(t, stallV.value, "no interval", "memscale measures once")
}

func TestStoresTable(t *testing.T) {
	var in strings.Builder
	for pass := range 6 {
		fmt.Fprintf(&in, "pkg: github.com/sessionkit/sessionkit/stores/redis\n")
		fmt.Fprintf(&in, "BenchmarkLoad/single-2 100 %d ns/op\n", 70000+pass*1000)
		fmt.Fprintf(&in, "BenchmarkWrites/single/sessions=8-2 100 90000 ns/op 11000 writes/s\n")
		fmt.Fprintf(&in, "pkg: github.com/sessionkit/sessionkit/stores/sqlite\n")
		fmt.Fprintf(&in, "BenchmarkLoad-2 100 %d ns/op\n", 21000+pass*100)
	}
	sd, err := parseStores(strings.NewReader(in.String()))
	require.NoError(t, err)
	var b strings.Builder
	renderStores(&b, sd)
	out := b.String()
	require.Contains(t, out, "## Stores")
	assert.Contains(t, out, "| load | 72.5 µs")
	assert.Contains(t, out, "| 21.2 µs [21.0, 21.5] |")
	assert.Contains(t, out, "11000", "writes/s of Redis at 8 sessions")
	assert.Contains(t, out, "no data", "PostgreSQL has no rows here")
}
