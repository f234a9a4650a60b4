package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

const (
	ours  = "sessionkit"
	floor = "floor"
)

var scenarios = []string{"untouched", "read", "write", "new"}

// anchors returns the anchor subjects of fw with or without Redis, in
// order: the one frameworks names first, then any other library the run
// measured on fw.
func (d *data) anchors(fw string, redis bool) []string {
	var a []string
	if f, ok := frameworks[fw]; ok {
		first := f.anchor
		if redis {
			first = f.redisAnchor
		}
		if first != "" && slices.Contains(d.subjects[fw], first) {
			a = append(a, first)
		}
	}
	for _, s := range d.subjects[fw] {
		lib, store, _ := strings.Cut(s, ".")
		if lib == floor || lib == ours || (store == "redis") != redis || slices.Contains(a, s) {
			continue
		}
		a = append(a, s)
	}
	return a
}

// ourSubject returns sessionkit's subject on fw with or without Redis.
func ourSubject(redis bool) string {
	if redis {
		return ours + ".redis"
	}
	return ours + ".mem"
}

func render(b *strings.Builder, d *data) {
	b.WriteString("# sessionkit benchmark results\n\n")
	b.WriteString("Written by `scripts/bench.sh` (bench/cmd/results) from one `go test -bench BenchmarkSessions` run")
	if d.mem != nil {
		b.WriteString(" and one `go run ./cmd/memscale`")
	}
	b.WriteString(". Do not edit by hand: rerun the script.\n\n")
	for _, m := range d.meta {
		if strings.HasPrefix(m[0], "load average") && strings.Contains(m[0], "pass ") {
			continue // per pass: only the busy warning reads them
		}
		fmt.Fprintf(b, "- %s: %s\n", m[0], m[1])
	}
	runs := 0
	for _, r := range d.rows {
		runs = max(runs, r.runs())
	}
	if len(d.passes) > 0 {
		fmt.Fprintf(b, "- runs per row: %d, one in each of %d passes over every row\n", runs, len(d.passes))
	} else {
		fmt.Fprintf(b, "- runs per row: %d, one after another (the input labels no passes)\n", runs)
	}
	if sp, ok := d.spread(); ok {
		fmt.Fprintf(b, "- run-to-run spread of ns/op (max − min over median, median over the rows): %.0f %%\n", sp*100)
	}
	b.WriteString("\n")
	if w := d.busyWarning(); w != "" {
		b.WriteString(w + "\n\n")
	}
	if w := d.fewRunsWarning(); w != "" {
		b.WriteString(w + "\n\n")
	}
	b.WriteString(howToRead)
	renderTargets(b, d, d.targets())
	renderMemory(b, d)
	renderParallel(b, d)
	renderRedis(b, d)
	renderMemscale(b, d)
	renderStores(b, d.stores)
}

const howToRead = `How to read it. The *floor* is the bare handler on the same framework, with no session middleware;
*+ns* and *+allocs* are a row's overhead over the floor. *ratio* is sessionkit's overhead divided by
the anchor's (the established library on that framework): 0.1 means sessionkit adds a tenth of what the
anchor adds. Routers run in process (no network); each response is checked, so a library that skips
work fails the run instead of looking fast. Scenarios: *untouched* (valid cookie, the handler never
touches the session), *read* (valid cookie, read one int), *write* (valid cookie, increment the int),
*new* (no cookie, set a key). *parallel* is b.RunParallel over GOMAXPROCS goroutines: read shares
one hot session, write gives each goroutine its own. For the cookie stores the client sends back the
cookie each write returns, as a browser would.

Statistics (golang.org/x/perf: benchfmt reads the output, benchmath summarises it). Every number is a
median over the runs, with its 95 % confidence interval: "+1.21 µs [0.95, 1.60]", or for a row's own
value "2260 ±5%" (the farther bound, as a share of the median). The interval is benchmath's, from order
statistics, with no assumption about the distribution; where that one leans to one side it is joined
with its mirror image, so that neither a met nor a missed target is favoured. It needs at least 6 runs
to be finite at 95 %, and is [−∞, +∞] (±∞) with fewer. Where the bounds are equal (the middle runs
agree, as allocation counts usually do) only the value is shown.

Overheads. scripts/bench.sh runs the benchmarks in *passes*: each pass runs every row once, so a row's
runs spread over the whole run instead of following each other, and in every pass the rows compared
with each other ran within minutes. An overhead (row − floor), a ratio of overheads, or a Redis row's
CPU beyond its round trips is computed once per pass from that pass's runs (paired: what slowed the
machine during a pass weighs on both sides), and its median and interval are taken over the passes
like a row's. When the input labels no passes (plain ` + "`go test -count`" + ` output), the runs cannot be
paired and the interval is bounded from each row's own interval instead, marked †: row − floor lies in
[row's low − floor's high, row's high − floor's low] (a ratio likewise), and with k rows involved each
row's interval is taken at 1 − 5 %/k, so the bound holds at 95 % or more; it is wider than a paired one.

A target is **met** (✅) only when its whole interval is within the limit, **missed** (❌) only when
its whole interval is beyond it, and otherwise **inconclusive**, with the interval shown: more runs or
a quieter machine would tell. Each interval is at 95 % on its own; among dozens of marks, one or two
may be wrong by chance. cmd/memscale measures once, with no interval: its targets are marked from that
one measurement.

`

// spread returns the median over the rows of (max − min) / median of
// their ns/op runs, a measure of how noisy the run was.
func (d *data) spread() (float64, bool) {
	var all []float64
	for _, r := range d.rows {
		v := r.values("ns/op")
		if len(v) < 3 {
			continue
		}
		slices.Sort(v)
		if m := summary(v, confidence).Center; m > 0 {
			all = append(all, (v[len(v)-1]-v[0])/m)
		}
	}
	if len(all) == 0 {
		return 0, false
	}
	slices.Sort(all)
	return all[len(all)/2], true
}

// busyWarning warns when the machine had other work during the run, going
// by the 1-minute load averages scripts/bench.sh records and its cores.
func (d *data) busyWarning() string {
	cores, load := 0.0, 0.0
	for _, m := range d.meta {
		switch {
		case m[0] == "cores":
			cores, _ = strconv.ParseFloat(m[1], 64)
		case strings.HasPrefix(m[0], "load average"):
			if f := strings.Fields(m[1]); len(f) > 0 {
				if l, err := strconv.ParseFloat(f[0], 64); err == nil {
					load = max(load, l)
				}
			}
		}
	}
	if cores == 0 || load <= cores/2 {
		return ""
	}
	return fmt.Sprintf("**Warning: the machine was busy** (1-minute load average up to %.1f on %.0f cores): other processes "+
		"took CPU time from the benchmark, so single runs can be off by tens of percent, the intervals are wider and the parallel speed-ups "+
		"mostly show what the machine had to spare. Rerun `scripts/bench.sh` on an idle machine before drawing "+
		"conclusions from close calls.", load, cores)
}

// fewRunsWarning says when the rows have too few runs for finite
// intervals: 6 for a row's own (and a paired overhead's), more for an
// overhead bounded from two rows' intervals at 97.5 % each.
func (d *data) fewRunsWarning() string {
	runs := 0
	for _, r := range d.rows {
		runs = max(runs, r.runs())
	}
	finite := func(c float64) bool { return !math.IsInf(summary(make([]float64, runs), c).Lo, 0) }
	switch {
	case !finite(confidence):
		return fmt.Sprintf("**Warning: %d runs per row are too few** for a finite 95 %% interval (6 are needed): "+
			"every interval is [−∞, +∞] and every target with one is inconclusive.", runs)
	case len(d.passes) == 0 && !finite(1-(1-confidence)/2):
		return fmt.Sprintf("**Warning: %d runs per row, not in passes, are too few** for a finite bound on an overhead "+
			"(7 are needed, more for a ratio): the targets on overheads are inconclusive. scripts/bench.sh runs passes.", runs)
	}
	return ""
}

// mark is a target's outcome on one framework.
type mark int

const (
	noData mark = iota
	met
	missed
	inconclusive
	info // shown, not judged
)

type verdict struct {
	mark  mark
	value string
}

func (v verdict) String() string {
	switch v.mark {
	case met:
		return "✅ " + v.value
	case missed:
		return "❌ " + v.value
	case inconclusive:
		return "inconclusive: " + v.value
	case info:
		return v.value
	}
	if v.value != "" {
		return "— (" + v.value + ")"
	}
	return "— (no data)"
}

// judge marks e against an upper limit: met when the interval's upper
// bound is within it, missed when its lower bound is beyond it,
// inconclusive when the interval straddles it.
func judge(e est, limit float64, value string) verdict {
	if !e.ok {
		return verdict{value: e.why}
	}
	switch {
	case e.hi <= limit:
		return verdict{met, value}
	case e.lo > limit:
		return verdict{missed, value}
	}
	return verdict{inconclusive, value}
}

// A target is one performance goal, evaluated per framework (or once).
type target struct {
	name  string
	limit string
	cells map[string]verdict // per framework; "" for a global target
}

func (d *data) targets() []target {
	var ts []target
	add := func(name, limit string, f func(fw string) verdict) {
		t := target{name: name, limit: limit, cells: make(map[string]verdict)}
		for _, fw := range d.fws {
			t.cells[fw] = f(fw)
		}
		ts = append(ts, t)
	}
	mem := ourSubject(false)
	// overTarget: sessionkit's serial overhead in unit, at most limit.
	overTarget := func(scenario, unit string, limit float64, f func(est) string) func(fw string) verdict {
		return func(fw string) verdict {
			e := d.eval(expr{num: over(fw, mem, scenario, "serial", unit)})
			if !e.ok {
				return judge(e, limit, "")
			}
			return judge(e, limit, f(e))
		}
	}
	// vsAnchor: sessionkit's quantity (an overhead, or beyond the round
	// trips) over the anchor's, at most limit.
	vsAnchor := func(redis bool, limit float64, q func(fw, subject string) []term) func(fw string) verdict {
		return func(fw string) verdict {
			f := frameworks[fw]
			a := f.anchor
			if redis {
				a = f.redisAnchor
			}
			if a == "" {
				return verdict{value: "no anchor in frameworks.go"}
			}
			s := ourSubject(redis)
			r := d.eval(expr{num: q(fw, s), den: q(fw, a)})
			if !r.ok {
				return judge(r, limit, "")
			}
			mine, theirs := d.eval(expr{num: q(fw, s)}), d.eval(expr{num: q(fw, a)})
			// The two quantities as medians only: the mark goes by the
			// ratio's interval, and three intervals would not fit a cell.
			return judge(r, limit, fmt.Sprintf("%s = %s of %s's %s", cellOf(mine, usMedian), ratio(r), a, cellOf(theirs, usMedian)))
		}
	}
	cmds := func(scenario string, want float64) func(fw string) verdict {
		return func(fw string) verdict {
			e := d.single(key{fw, ourSubject(true), scenario, "serial"}, "cmds/op")
			if !e.ok {
				return verdict{}
			}
			// Counts are whole; the slack allows for a rare retry.
			return judge(e, want+0.05, interval(e, 1, false, ""))
		}
	}
	add("untouched: allocs over the floor", "≤ 2", overTarget("untouched", "allocs/op", 2, count))
	add("untouched: time over the floor", "shown, no limit", func(fw string) verdict {
		e := d.eval(expr{num: over(fw, mem, "untouched", "serial", "ns/op")})
		if !e.ok {
			return verdict{}
		}
		return verdict{info, us(e)}
	})
	add("read: time over the floor", "≤ +1.0 µs", overTarget("read", "ns/op", 1000, us))
	add("read: allocs over the floor", "≤ 8", overTarget("read", "allocs/op", 8, count))
	add("write: time over the floor", "≤ +1.5 µs", overTarget("write", "ns/op", 1500, us))
	add("write: allocs over the floor", "≤ 30", overTarget("write", "allocs/op", 30, count))
	add("new: overhead vs the anchor's", "≤ 1/3", vsAnchor(false, 1.0/3, func(fw, s string) []term {
		return over(fw, s, "new", "serial", "ns/op")
	}))
	add("Redis untouched: commands per request", "0", cmds("untouched", 0))
	add("Redis read: commands per request", "1", cmds("read", 1))
	add("Redis write: commands per request", "2", cmds("write", 2))
	add("Redis new: commands per request", "1", cmds("new", 1))
	for _, sc := range []string{"read", "write", "new"} {
		add("Redis "+sc+": CPU beyond the round trips vs the anchor's", "≤ 1/5", vsAnchor(true, 0.2, func(fw, s string) []term {
			return beyond(fw, s, sc)
		}))
	}
	if d.mem != nil {
		bps, _ := strconv.ParseFloat(d.mem["bytes_per_session"], 64)
		payload, _ := strconv.ParseFloat(d.mem["payload_bytes"], 64)
		stall, _ := strconv.ParseFloat(d.mem["reap.max_get_us"], 64)
		heap := verdict{value: "no memscale size line"}
		if payload > 0 {
			heap = judge(est{center: bps / payload, lo: bps / payload, hi: bps / payload, ok: true}, 2,
				fmt.Sprintf("%.0f B = %.2f× the %.0f B payload (one measurement, no interval)", bps, bps/payload, payload))
		}
		reap := verdict{value: "no memscale reap line"}
		if d.mem["reap.max_get_us"] != "" {
			reap = judge(est{center: stall, lo: stall, hi: stall, ok: true}, 5000,
				fmt.Sprintf("%.2f ms (one measurement, no interval)", stall/1000))
		}
		ts = append(ts,
			target{name: fmt.Sprintf("MemoryStore, %s sessions: heap per session", orQ(d.mem["sessions"])), limit: "≤ 2× payload",
				cells: map[string]verdict{"": heap}},
			target{name: fmt.Sprintf("MemoryStore, reaping %s of them: longest Get stall", orQ(d.mem["reap.expired"])), limit: "≤ 5 ms",
				cells: map[string]verdict{"": reap}})
	}
	return ts
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func renderTargets(b *strings.Builder, d *data, ts []target) {
	b.WriteString("## Targets\n\n")
	b.WriteString("Serial rows of sessionkit with its MemoryStore (sessionkit.mem) or redisstore (sessionkit.redis);\n")
	b.WriteString("issue 14's targets. *CPU beyond the round trips* is a serial Redis row's time per request minus the\n")
	b.WriteString("floor's, minus the time spent inside its round trips (timed in the client, from handing over the\n")
	b.WriteString("command to having the reply: rt-ns/op). Outside the round trips a serial request waits for nothing,\n")
	b.WriteString("so what is left is the work on the CPU around the store calls: framework glue, cookie handling,\n")
	b.WriteString("encoding and decoding. A cell comparing with the anchor reads: sessionkit's quantity = its ratio to\n")
	b.WriteString("the anchor's (with the ratio's interval, which the mark goes by) of the anchor's quantity.\n\n")
	b.WriteString("| target | limit |")
	for _, fw := range d.fws {
		b.WriteString(" " + title(fw) + " |")
	}
	b.WriteString("\n|---|---|")
	for range d.fws {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	var tally [info]int
	var global []target
	for _, t := range ts {
		if _, ok := t.cells[""]; ok {
			global = append(global, t)
			continue
		}
		fmt.Fprintf(b, "| %s | %s |", t.name, t.limit)
		for _, fw := range d.fws {
			v := t.cells[fw]
			b.WriteString(" " + v.String() + " |")
			if v.mark != info {
				tally[v.mark]++
			}
		}
		b.WriteString("\n")
	}
	if len(global) > 0 {
		b.WriteString("\n| target | limit | measured |\n|---|---|---|\n")
		for _, t := range global {
			v := t.cells[""]
			fmt.Fprintf(b, "| %s | %s | %s |\n", t.name, t.limit, v)
			tally[v.mark]++
		}
	}
	var notes strings.Builder
	for _, fw := range d.fws {
		f := frameworks[fw]
		for _, a := range []string{f.anchor, f.redisAnchor} {
			if a != "" && !slices.Contains(d.subjects[fw], a) {
				fmt.Fprintf(&notes, "- %s: its anchor %s has no rows in this run.\n", title(fw), a)
			}
		}
		if f.anchor == "" || f.redisAnchor == "" {
			fmt.Fprintf(&notes, "- %s: no anchor in bench/cmd/results/frameworks.go, so the targets that compare with one are not marked.\n", title(fw))
		}
	}
	if notes.Len() > 0 {
		b.WriteString("\n" + notes.String())
	}
	fmt.Fprintf(b, "\n**%d met, %d missed, %d inconclusive, %d without data.**\n\n",
		tally[met], tally[missed], tally[inconclusive], tally[noData])
}

func renderMemory(b *strings.Builder, d *data) {
	b.WriteString("## In-memory stores\n\n")
	b.WriteString("sessionkit with its default MemoryStore. ns/op, B/op and allocs/op are per request.\n\n")
	s := ourSubject(false)
	for _, fw := range d.fws {
		anchors := d.anchors(fw, false)
		if len(anchors) == 0 {
			anchors = []string{""}
		}
		for _, a := range anchors {
			fmt.Fprintf(b, "### %s: sessionkit", title(fw))
			if a != "" {
				fmt.Fprintf(b, " vs %s", a)
			}
			b.WriteString("\n\n| scenario | mode | floor ns/op | floor allocs | sessionkit ns/op | B/op | allocs/op | +ns | +allocs |")
			if a != "" {
				fmt.Fprintf(b, " %s ns/op | B/op | allocs/op | +ns | +allocs | ratio |", a)
			}
			b.WriteString("\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
			if a != "" {
				b.WriteString("---:|---:|---:|---:|---:|---:|")
			}
			b.WriteString("\n")
			for _, sc := range scenarios {
				for _, mode := range []string{"serial", "parallel"} {
					fk := key{fw, floor, sc, mode}
					fmt.Fprintf(b, "| %s | %s | %s | %s |", sc, mode,
						rowCell(d.single(fk, "ns/op")), rowCell(d.single(fk, "allocs/op")))
					writeSubject(b, d, fw, s, sc, mode)
					if a != "" {
						writeSubject(b, d, fw, a, sc, mode)
						r := d.eval(expr{num: over(fw, s, sc, mode, "ns/op"), den: over(fw, a, sc, mode, "ns/op")})
						fmt.Fprintf(b, " %s |", cellOf(r, ratio))
					}
					b.WriteString("\n")
				}
			}
			b.WriteString("\n")
		}
	}
}

func writeSubject(b *strings.Builder, d *data, fw, s, sc, mode string) {
	k := key{fw, s, sc, mode}
	fmt.Fprintf(b, " %s | %s | %s | %s | %s |",
		rowCell(d.single(k, "ns/op")), rowCell(d.single(k, "B/op")), rowCell(d.single(k, "allocs/op")),
		cellOf(d.eval(expr{num: over(fw, s, sc, mode, "ns/op")}), func(e est) string { return interval(e, 1, true, "") }),
		cellOf(d.eval(expr{num: over(fw, s, sc, mode, "allocs/op")}), count))
}

// renderParallel shows how much faster the parallel rows go than the
// serial ones: information only, no target, since on a shared 2-core
// machine it mostly shows what the machine had to spare.
func renderParallel(b *strings.Builder, d *data) {
	b.WriteString("## Parallel speed-up (information)\n\n")
	b.WriteString("Serial ns/op ÷ parallel ns/op, per pass; GOMAXPROCS goroutines. read shares one hot session, write\n")
	b.WriteString("gives each goroutine its own. No target: on a shared machine it measures the spare cores as much as the code.\n\n")
	b.WriteString("| framework | read: sessionkit | read: floor | write: sessionkit | write: floor |\n|---|---:|---:|---:|---:|\n")
	for _, fw := range d.fws {
		fmt.Fprintf(b, "| %s |", title(fw))
		for _, sc := range []string{"read", "write"} {
			for _, s := range []string{ourSubject(false), floor} {
				e := d.eval(expr{
					num: []term{{ref{key{fw, s, sc, "serial"}, "ns/op"}, 1}},
					den: []term{{ref{key{fw, s, sc, "parallel"}, "ns/op"}, 1}},
				})
				fmt.Fprintf(b, " %s |", cellOf(e, func(e est) string { return interval(e, 1, false, "×") }))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func renderRedis(b *strings.Builder, d *data) {
	b.WriteString("## Redis\n\n")
	b.WriteString("Serial, against the local Redis (127.0.0.1:6379, its own database). cmds/op counts every command sent\n")
	b.WriteString("(MULTI and EXEC included) and rt/op the round trips (a pipeline is one): sessionkit and fiber's go-redis\n")
	b.WriteString("storage through a go-redis hook (internal/testenv/rediscount), the redigo-based anchors through a counting connection.\n")
	b.WriteString("rt-ns/op is the time inside the round trips; *beyond* is ns/op minus the floor's and minus rt-ns/op (see\n")
	b.WriteString("Targets), and the ratio compares sessionkit's beyond with the anchor's. cpu-ns/op, the process CPU time\n")
	b.WriteString("per request, is shown for reference: it includes the system calls and scheduler work of the round trips.\n\n")
	s := ourSubject(true)
	for _, fw := range d.fws {
		for _, a := range d.anchors(fw, true) {
			fmt.Fprintf(b, "### %s: %s vs %s\n\n", title(fw), s, a)
			b.WriteString("| scenario | floor ns/op | sessionkit ns/op | cmds/op | rt/op | rt-ns/op | beyond | cpu-ns/op | allocs/op |")
			fmt.Fprintf(b, " %s ns/op | cmds/op | rt/op | rt-ns/op | beyond | cpu-ns/op | allocs/op | ratio |\n", a)
			b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
			for _, sc := range scenarios {
				fmt.Fprintf(b, "| %s | %s |", sc, rowCell(d.single(key{fw, floor, sc, "serial"}, "ns/op")))
				for _, sub := range []string{s, a} {
					k := key{fw, sub, sc, "serial"}
					bc := d.eval(expr{num: beyond(fw, sub, sc)})
					fmt.Fprintf(b, " %s | %s | %s | %s | %s | %s | %s |",
						rowCell(d.single(k, "ns/op")), rowCell(d.single(k, "cmds/op")), rowCell(d.single(k, "rt/op")),
						rowCell(d.single(k, "rt-ns/op")), cellOf(bc, func(e est) string { return interval(e, 1, true, "") }),
						rowCell(d.single(k, "cpu-ns/op")), rowCell(d.single(k, "allocs/op")))
				}
				r := d.eval(expr{num: beyond(fw, s, sc), den: beyond(fw, a, sc)})
				fmt.Fprintf(b, " %s |\n", cellOf(r, ratio))
			}
			b.WriteString("\n")
		}
	}
}

func renderMemscale(b *strings.Builder, d *data) {
	if d.mem == nil {
		return
	}
	m := d.mem
	b.WriteString("## MemoryStore at scale (cmd/memscale)\n\n")
	b.WriteString("One run of the program: single measurements, no intervals.\n\n")
	fmt.Fprintf(b, "- %s sessions of %s-byte records under %s-character keys: **%s bytes per session** of heap in use after GC (%s× the payload; live objects alone %s bytes); filled in %s ms.\n",
		m["sessions"], m["payload_bytes"], m["key_bytes"], m["bytes_per_session"], m["ratio_to_payload"], m["live_bytes_per_session"], m["fill_ms"])
	fmt.Fprintf(b, "- Reap of %s expired sessions (%s remain), timed %s times: the longest sweep took %s ms. While sweeping, %s goroutine(s) timed %s Get calls: **longest Get %s µs** (per sweep: %s µs), worst 99.9th percentile %s µs, %s Gets over 1 ms. Without a sweep the same readers timed %s Gets: longest %s µs, 99.9th percentile %s µs, %s over 1 ms — the machine's own noise.\n\n",
		m["reap.expired"], m["reap.remaining"], m["reap.rounds"], m["reap.reap_ms"], m["reap.readers"], m["reap.gets"],
		m["reap.max_get_us"], m["reap.round_max_get_us"], m["reap.p999_get_us"], m["reap.gets_over_1ms"],
		m["reap.baseline_gets"], m["reap.baseline_max_get_us"], m["reap.baseline_p999_get_us"], m["reap.baseline_gets_over_1ms"])
}
