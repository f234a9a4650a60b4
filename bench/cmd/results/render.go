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

// fwTitle names the frameworks as their users do.
var fwTitle = map[string]string{"nethttp": "net/http", "gin": "gin", "echo": "echo", "fiber": "fiber"}

func title(fw string) string {
	if t, ok := fwTitle[fw]; ok {
		return t
	}
	return fw
}

// anchors returns the anchor subjects of fw with or without Redis, in
// order; the first in-memory one is the anchor the targets use.
func (d *data) anchors(fw string, redis bool) []string {
	var a []string
	for _, s := range d.subjects[fw] {
		lib, store, _ := strings.Cut(s, ".")
		if lib == floor || lib == ours || (store == "redis") != redis {
			continue
		}
		a = append(a, s)
	}
	return a
}

// ourSubject returns sessionkit's subject on fw with or without Redis, or
// "" when the run has none.
func (d *data) ourSubject(fw string, redis bool) string {
	want := ours + ".mem"
	if redis {
		want = ours + ".redis"
	}
	for _, s := range d.subjects[fw] {
		if s == want {
			return s
		}
	}
	return ""
}

// overhead returns subject's median of unit minus the floor's on the same
// framework, scenario and mode.
func (d *data) overhead(fw, subject, scenario, mode, unit string) (float64, bool) {
	v, ok1 := d.row(fw, subject, scenario, mode).med(unit)
	f, ok2 := d.row(fw, floor, scenario, mode).med(unit)
	return v - f, ok1 && ok2
}

// ratio returns sessionkit's overhead over the anchor's; it is undefined
// when the anchor adds nothing measurable.
func (d *data) ratio(fw, anchor, scenario, mode, unit string) (float64, bool) {
	o, ok1 := d.overhead(fw, d.ourSubject(fw, strings.HasSuffix(anchor, ".redis")), scenario, mode, unit)
	a, ok2 := d.overhead(fw, anchor, scenario, mode, unit)
	if !ok1 || !ok2 || a <= 0 {
		return 0, false
	}
	return math.Max(o, 0) / a, true
}

// beyond returns the time per request a Redis subject spends beyond the
// floor and outside its round trips: ns/op − the floor's ns/op − rt-ns/op.
// In a serial row nothing else waits, so that is work on the CPU.
func (d *data) beyond(fw, subject, scenario string) (float64, bool) {
	o, ok1 := d.overhead(fw, subject, scenario, "serial", "ns/op")
	rt, ok2 := d.row(fw, subject, scenario, "serial").med("rt-ns/op")
	return o - rt, ok1 && ok2
}

// beyondRatio returns sessionkit's CPU beyond the round trips over the
// anchor's; it is undefined when the anchor's is not positive.
func (d *data) beyondRatio(fw, anchor, scenario string) (float64, bool) {
	o, ok1 := d.beyond(fw, d.ourSubject(fw, true), scenario)
	a, ok2 := d.beyond(fw, anchor, scenario)
	if !ok1 || !ok2 || a <= 0 {
		return 0, false
	}
	return math.Max(o, 0) / a, true
}

// num formats a measurement compactly.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func signed(v float64) string {
	if v >= 0 {
		return "+" + num(v)
	}
	return num(v)
}

// cell formats an optional value.
func cell(v float64, ok bool, f func(float64) string) string {
	if !ok {
		return "—"
	}
	return f(v)
}

// cn formats an optional number.
func cn(v float64, ok bool) string { return cell(v, ok, num) }

func fmtRatio(v float64) string {
	if v == 0 {
		return "0"
	}
	if v < 0.01 {
		return fmt.Sprintf("1/%.0f", 1/v)
	}
	if v >= 1 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f (1/%.1f)", v, 1/v)
}

func render(b *strings.Builder, d *data) {
	b.WriteString("# sessionkit benchmark results\n\n")
	b.WriteString("Written by `scripts/bench.sh` (bench/cmd/results) from one `go test -bench BenchmarkSessions` run")
	if d.mem != nil {
		b.WriteString(" and one `go run ./cmd/memscale`")
	}
	b.WriteString(". Do not edit by hand: rerun the script.\n\n")
	for _, m := range d.meta {
		fmt.Fprintf(b, "- %s: %s\n", m[0], m[1])
	}
	runs := 0
	for _, r := range d.rows {
		runs = max(runs, r.runs())
	}
	fmt.Fprintf(b, "- runs per row: %d; every number is the median over the runs\n", runs)
	if sp, ok := d.spread(); ok {
		fmt.Fprintf(b, "- run-to-run spread of ns/op (max − min over median, median over the rows): %.0f %%\n", sp*100)
	}
	b.WriteString("\n")
	if w := d.busyWarning(); w != "" {
		b.WriteString(w + "\n\n")
	}
	b.WriteString(`How to read it. The *floor* is the bare handler on the same framework, with no session middleware;
*+ns* and *+allocs* are a row's overhead over the floor. *ratio* is sessionkit's overhead divided by
the anchor's (the established library on that framework): 0.1 means sessionkit adds a tenth of what the
anchor adds. Routers run in process (no network); each response is checked, so a library that skips
work fails the run instead of looking fast. Scenarios: *untouched* (valid cookie, the handler never
touches the session), *read* (valid cookie, read one int), *write* (valid cookie, increment the int),
*new* (no cookie, set a key). *parallel* is b.RunParallel over GOMAXPROCS goroutines: read shares
one hot session, write gives each goroutine its own. For the cookie stores the client sends back the
cookie each write returns, as a browser would.

`)
	targets := d.targets()
	renderTargets(b, d, targets)
	renderMemory(b, d)
	renderRedis(b, d)
	renderMemscale(b, d)
}

// spread returns the median over the rows of (max − min) / median of
// their ns/op runs, a measure of how noisy the run was.
func (d *data) spread() (float64, bool) {
	var all []float64
	for _, r := range d.rows {
		v := slices.Clone(r.vals["ns/op"])
		if len(v) < 3 {
			continue
		}
		slices.Sort(v)
		m, _ := r.med("ns/op")
		if m > 0 {
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
		"took CPU time from the benchmark, so single numbers can be off by tens of percent and the parallel speed-ups "+
		"mostly show what the machine had to spare. Rerun `scripts/bench.sh` on an idle machine before drawing "+
		"conclusions from close calls.", load, cores)
}

// A target is one performance goal, evaluated per framework (or once).
type target struct {
	name  string
	limit string
	cells map[string]verdict // per framework; "" for a global target
}

type verdict struct {
	value string
	met   bool
	known bool
}

func (v verdict) String() string {
	if !v.known {
		if v.value != "" {
			return "n/a: " + v.value
		}
		return "— (no data)"
	}
	if v.met {
		return "✅ " + v.value
	}
	return "❌ " + v.value
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
	memOver := func(scenario, unit string, limit float64) func(fw string) verdict {
		return func(fw string) verdict {
			o, ok := d.overhead(fw, d.ourSubject(fw, false), scenario, "serial", unit)
			if !ok || d.ourSubject(fw, false) == "" {
				return verdict{}
			}
			return verdict{value: signed(o), met: o <= limit, known: true}
		}
	}
	memRatio := func(scenario string, limit float64) func(fw string) verdict {
		return func(fw string) verdict {
			a := d.anchors(fw, false)
			if len(a) == 0 || d.ourSubject(fw, false) == "" {
				return verdict{}
			}
			_, ok1 := d.overhead(fw, d.ourSubject(fw, false), scenario, "serial", "ns/op")
			_, ok2 := d.overhead(fw, a[0], scenario, "serial", "ns/op")
			if !ok1 || !ok2 {
				return verdict{}
			}
			r, ok := d.ratio(fw, a[0], scenario, "serial", "ns/op")
			if !ok {
				return verdict{value: a[0] + " adds nothing", known: false}
			}
			return verdict{value: fmtRatio(r) + " vs " + a[0], met: r <= limit, known: true}
		}
	}
	scaling := func(scenario string) func(fw string) verdict {
		return func(fw string) verdict {
			s := d.ourSubject(fw, false)
			ser, ok1 := d.row(fw, s, scenario, "serial").med("ns/op")
			par, ok2 := d.row(fw, s, scenario, "parallel").med("ns/op")
			if s == "" || !ok1 || !ok2 || par <= 0 {
				return verdict{}
			}
			sp := ser / par
			v := fmt.Sprintf("%.2f×", sp)
			if fs, ok := d.row(fw, floor, scenario, "serial").med("ns/op"); ok {
				if fp, ok := d.row(fw, floor, scenario, "parallel").med("ns/op"); ok && fp > 0 {
					v += fmt.Sprintf(" (floor %.2f×)", fs/fp)
				}
			}
			return verdict{value: v, met: sp >= minSpeedup, known: true}
		}
	}
	cmds := func(scenario string, want float64) func(fw string) verdict {
		return func(fw string) verdict {
			s := d.ourSubject(fw, true)
			c, ok := d.row(fw, s, scenario, "serial").med("cmds/op")
			if s == "" || !ok {
				return verdict{}
			}
			return verdict{value: num(c), met: c <= want+0.05, known: true}
		}
	}
	cpu := func(scenario string) func(fw string) verdict {
		return func(fw string) verdict {
			a := d.anchors(fw, true)
			if len(a) == 0 || d.ourSubject(fw, true) == "" {
				return verdict{}
			}
			_, ok1 := d.beyond(fw, d.ourSubject(fw, true), scenario)
			_, ok2 := d.beyond(fw, a[0], scenario)
			if !ok1 || !ok2 {
				return verdict{}
			}
			r, ok := d.beyondRatio(fw, a[0], scenario)
			if !ok {
				return verdict{value: a[0] + " adds nothing"}
			}
			return verdict{value: fmtRatio(r) + " vs " + a[0], met: r <= 0.2, known: true}
		}
	}
	add("untouched: allocs over the floor", "≤ 2", memOver("untouched", "allocs/op", 2))
	add("untouched: ns over the floor", "≤ 100 ns", memOver("untouched", "ns/op", 100))
	add("read: overhead vs the anchor's", "≤ 1/10", memRatio("read", 0.1))
	add("read: allocs over the floor", "≤ 20", memOver("read", "allocs/op", 20))
	add("write: overhead vs the anchor's", "≤ 1/8", memRatio("write", 1.0/8))
	add("write: allocs over the floor", "≤ 30", memOver("write", "allocs/op", 30))
	add("new: overhead vs the anchor's", "≤ 1/3", memRatio("new", 1.0/3))
	add("parallel read, one hot session: speed-up over serial", fmt.Sprintf("≥ %.1f× (2 cores)", minSpeedup), scaling("read"))
	add("parallel write, distinct sessions: speed-up over serial", fmt.Sprintf("≥ %.1f× (2 cores)", minSpeedup), scaling("write"))
	add("Redis untouched: commands per request", "0", cmds("untouched", 0))
	add("Redis read: commands per request", "1", cmds("read", 1))
	add("Redis write: commands per request", "2", cmds("write", 2))
	add("Redis new: commands per request", "1", cmds("new", 1))
	add("Redis read: CPU beyond the round trips vs the anchor's", "≤ 1/5", cpu("read"))
	add("Redis write: CPU beyond the round trips vs the anchor's", "≤ 1/5", cpu("write"))
	add("Redis new: CPU beyond the round trips vs the anchor's", "≤ 1/5", cpu("new"))
	if d.mem != nil {
		bps, _ := strconv.ParseFloat(d.mem["bytes_per_session"], 64)
		payload, _ := strconv.ParseFloat(d.mem["payload_bytes"], 64)
		stall, _ := strconv.ParseFloat(d.mem["reap.max_get_us"], 64)
		ts = append(ts,
			target{name: "MemoryStore, 1M sessions: heap per session", limit: "≤ 2× payload",
				cells: map[string]verdict{"": {value: fmt.Sprintf("%.0f B = %.2f× the %.0f B payload", bps, bps/payload, payload), met: bps <= 2*payload, known: payload > 0}}},
			target{name: "MemoryStore, reaping 1/2 of 1M: longest Get stall", limit: "≤ 5 ms",
				cells: map[string]verdict{"": {value: fmt.Sprintf("%.2f ms", stall/1000), met: stall <= 5000, known: d.mem["reap.max_get_us"] != ""}}})
	}
	return ts
}

// minSpeedup is what "scales to 2 cores" is taken to mean: at least 80 %
// of a linear speed-up on the machine's two cores.
const minSpeedup = 1.6

func renderTargets(b *strings.Builder, d *data, ts []target) {
	b.WriteString("## Targets\n\n")
	b.WriteString("Serial rows unless named; ratios and overheads from this one run. A parallel speed-up is serial ns/op ÷\n")
	b.WriteString("parallel ns/op. *CPU beyond the round trips* is a serial Redis row's time per request minus the floor's,\n")
	b.WriteString("minus the time spent inside its round trips (timed in the client, from handing over the command to having\n")
	b.WriteString("the reply: rt-ns/op). Outside the round trips a serial request waits for nothing, so what is left is the\n")
	b.WriteString("work on the CPU around the store calls: framework glue, cookie handling, encoding and decoding.\n\n")
	b.WriteString("| target | limit |")
	for _, fw := range d.fws {
		b.WriteString(" " + title(fw) + " |")
	}
	b.WriteString("\n|---|---|")
	for range d.fws {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	met, known := 0, 0
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
			if v.known {
				known++
				if v.met {
					met++
				}
			}
		}
		b.WriteString("\n")
	}
	if len(global) > 0 {
		b.WriteString("\n| target | limit | measured |\n|---|---|---|\n")
		for _, t := range global {
			v := t.cells[""]
			fmt.Fprintf(b, "| %s | %s | %s |\n", t.name, t.limit, v)
			if v.known {
				known++
				if v.met {
					met++
				}
			}
		}
	}
	fmt.Fprintf(b, "\n**%d of %d measured targets met.**\n\n", met, known)
}

func renderMemory(b *strings.Builder, d *data) {
	b.WriteString("## In-memory stores\n\n")
	b.WriteString("sessionkit with its default MemoryStore. ns/op, B/op and allocs/op are per request.\n\n")
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
			s := d.ourSubject(fw, false)
			for _, sc := range scenarios {
				for _, mode := range []string{"serial", "parallel"} {
					fl := d.row(fw, floor, sc, mode)
					fmt.Fprintf(b, "| %s | %s | %s | %s |", sc, mode, cn(fl.med("ns/op")), cn(fl.med("allocs/op")))
					writeSubject(b, d, fw, s, sc, mode)
					if a != "" {
						writeSubject(b, d, fw, a, sc, mode)
						r, ok := d.ratio(fw, a, sc, mode, "ns/op")
						fmt.Fprintf(b, " %s |", cellR(r, ok))
					}
					b.WriteString("\n")
				}
			}
			b.WriteString("\n")
		}
	}
}

func cellR(r float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmtRatio(r)
}

func writeSubject(b *strings.Builder, d *data, fw, s, sc, mode string) {
	r := d.row(fw, s, sc, mode)
	on, ok1 := d.overhead(fw, s, sc, mode, "ns/op")
	oa, ok2 := d.overhead(fw, s, sc, mode, "allocs/op")
	fmt.Fprintf(b, " %s | %s | %s | %s | %s |",
		cn(r.med("ns/op")), cn(r.med("B/op")), cn(r.med("allocs/op")),
		cell(on, ok1, signed), cell(oa, ok2, signed))
}

func renderRedis(b *strings.Builder, d *data) {
	b.WriteString("## Redis\n\n")
	b.WriteString("Serial, against the local Redis (127.0.0.1:6379, its own database). cmds/op counts every command sent\n")
	b.WriteString("(MULTI and EXEC included) and rt/op the round trips (a pipeline is one): sessionkit and fiber's go-redis\n")
	b.WriteString("storage through a go-redis hook (internal/testenv/rediscount), the redigo-based anchors through a counting connection.\n")
	b.WriteString("rt-ns/op is the time inside the round trips; *beyond* is ns/op minus the floor's and minus rt-ns/op (see\n")
	b.WriteString("Targets), and the ratio compares sessionkit's beyond with the anchor's. cpu-ns/op, the process CPU time\n")
	b.WriteString("per request, is shown for reference: it includes the system calls and scheduler work of the round trips.\n\n")
	for _, fw := range d.fws {
		s := d.ourSubject(fw, true)
		for _, a := range d.anchors(fw, true) {
			fmt.Fprintf(b, "### %s: %s vs %s\n\n", title(fw), orDash(s), a)
			b.WriteString("| scenario | floor ns/op | sessionkit ns/op | cmds/op | rt/op | rt-ns/op | beyond | cpu-ns/op | allocs/op |")
			fmt.Fprintf(b, " %s ns/op | cmds/op | rt/op | rt-ns/op | beyond | cpu-ns/op | allocs/op | ratio |\n", a)
			b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
			for _, sc := range scenarios {
				fl := d.row(fw, floor, sc, "serial")
				fmt.Fprintf(b, "| %s | %s |", sc, cn(fl.med("ns/op")))
				for _, sub := range []string{s, a} {
					r := d.row(fw, sub, sc, "serial")
					bc, ok := d.beyond(fw, sub, sc)
					fmt.Fprintf(b, " %s | %s | %s | %s | %s | %s | %s |", cn(r.med("ns/op")), cn(r.med("cmds/op")),
						cn(r.med("rt/op")), cn(r.med("rt-ns/op")), cell(bc, ok, signed), cn(r.med("cpu-ns/op")), cn(r.med("allocs/op")))
				}
				rc, ok := d.beyondRatio(fw, a, sc)
				fmt.Fprintf(b, " %s |\n", cellR(rc, ok))
			}
			b.WriteString("\n")
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "sessionkit (not in this run)"
	}
	return s
}

func renderMemscale(b *strings.Builder, d *data) {
	if d.mem == nil {
		return
	}
	m := d.mem
	b.WriteString("## MemoryStore at scale (cmd/memscale)\n\n")
	fmt.Fprintf(b, "- %s sessions of %s-byte records under %s-character keys: **%s bytes per session** of heap in use after GC (%s× the payload; live objects alone %s bytes); filled in %s ms.\n",
		m["sessions"], m["payload_bytes"], m["key_bytes"], m["bytes_per_session"], m["ratio_to_payload"], m["live_bytes_per_session"], m["fill_ms"])
	fmt.Fprintf(b, "- Reap of %s expired sessions (%s remain), timed %s times: the longest sweep took %s ms. While sweeping, %s goroutine(s) timed %s Get calls: **longest Get %s µs** (per sweep: %s µs), worst 99.9th percentile %s µs, %s Gets over 1 ms. Without a sweep the same readers timed %s Gets: longest %s µs, 99.9th percentile %s µs, %s over 1 ms — the machine's own noise.\n\n",
		m["reap.expired"], m["reap.remaining"], m["reap.rounds"], m["reap.reap_ms"], m["reap.readers"], m["reap.gets"],
		m["reap.max_get_us"], m["reap.round_max_get_us"], m["reap.p999_get_us"], m["reap.gets_over_1ms"],
		m["reap.baseline_gets"], m["reap.baseline_max_get_us"], m["reap.baseline_p999_get_us"], m["reap.baseline_gets_over_1ms"])
}
