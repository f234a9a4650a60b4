package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// key names one benchmark row: BenchmarkSessions/fw/subject/scenario/mode.
type key struct {
	fw, subject, scenario, mode string
}

// obs is one run's value of a row in one unit, with the pass it came from
// ("" when the input does not say).
type obs struct {
	v    float64
	pass string
}

// row holds every value a row reported, per unit, one per run.
type row struct {
	vals map[string][]obs
}

// runs returns how many runs reported the row.
func (r *row) runs() int {
	if r == nil {
		return 0
	}
	return len(r.vals["ns/op"])
}

// values returns the row's values of unit, in the order of the runs.
func (r *row) values(unit string) []float64 {
	if r == nil {
		return nil
	}
	v := make([]float64, 0, len(r.vals[unit]))
	for _, o := range r.vals[unit] {
		v = append(v, o.v)
	}
	return v
}

// data is everything read from the inputs.
type data struct {
	meta     [][2]string // bench-meta and the go test header, in order
	rows     map[key]*row
	fws      []string            // frameworks, in order of appearance
	subjects map[string][]string // per framework, in order of appearance
	passes   []string            // the pass labels seen, in order
	mem      map[string]string   // memscale fields
	stores   storeData           // the stores' own benchmarks
}

func (d *data) row(fw, subject, scenario, mode string) *row {
	return d.rows[key{fw, subject, scenario, mode}]
}

// base is the benchmark the report is about, as benchfmt names it (it drops
// the "Benchmark" prefix).
const base = "Sessions"

// passKey is the configuration key (a "pass: N" line, in the benchmark
// format's terms) scripts/bench.sh writes before each pass over every row.
// Values of different rows from the same pass were measured minutes apart
// at most, under the same load, and are paired when two rows are compared.
const passKey = "pass"

// parseBench reads go test -bench output with benchfmt. Lines that are
// neither results nor configuration are skipped, except "bench-meta k=v"
// lines, kept for the report's header; a result line benchfmt cannot read,
// or a BenchmarkSessions name of the wrong shape, is an error.
func parseBench(r io.Reader) (*data, error) {
	in, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	d := &data{rows: make(map[key]*row), subjects: make(map[string][]string)}
	d.readMeta(in)
	br := benchfmt.NewReader(bytes.NewReader(in), "bench output")
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, rec
		case *benchfmt.Result:
			if err := d.add(rec); err != nil {
				return nil, err
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	if len(d.rows) == 0 {
		return nil, fmt.Errorf("no BenchmarkSessions results in the input")
	}
	return d, nil
}

// readMeta collects the bench-meta lines and the first of each go test
// header line (they repeat once per pass).
func (d *data) readMeta(in []byte) {
	sc := bufio.NewScanner(bytes.NewReader(in))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "bench-meta "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "bench-meta "), "=")
			d.meta = append(d.meta, [2]string{k, v})
		case strings.HasPrefix(line, "cpu: "), strings.HasPrefix(line, "goos: "), strings.HasPrefix(line, "goarch: "):
			k, v, _ := strings.Cut(line, ": ")
			if !slices.Contains(d.meta, [2]string{k, v}) {
				d.meta = append(d.meta, [2]string{k, v})
			}
		}
	}
}

// add files one result under its row. Other benchmarks than
// BenchmarkSessions are ignored.
func (d *data) add(res *benchfmt.Result) error {
	b, parts := res.Name.Parts()
	if string(b) != base {
		return nil
	}
	if n := len(parts); n > 0 && strings.HasPrefix(string(parts[n-1]), "-") {
		parts = parts[:n-1] // the GOMAXPROCS suffix
	}
	if len(parts) != 4 {
		return fmt.Errorf("unexpected benchmark name %q", "Benchmark"+res.Name.String())
	}
	f := make([]string, 4)
	for i, p := range parts {
		f[i] = strings.TrimPrefix(string(p), "/")
	}
	k := key{f[0], f[1], f[2], f[3]}
	r := d.rows[k]
	if r == nil {
		r = &row{vals: make(map[string][]obs)}
		d.rows[k] = r
		if !slices.Contains(d.fws, k.fw) {
			d.fws = append(d.fws, k.fw)
		}
		if !slices.Contains(d.subjects[k.fw], k.subject) {
			d.subjects[k.fw] = append(d.subjects[k.fw], k.subject)
		}
	}
	pass := res.GetConfig(passKey)
	if pass != "" && !slices.Contains(d.passes, pass) {
		d.passes = append(d.passes, pass)
	}
	for _, v := range res.Values {
		// benchfmt tidies ns/op into sec/op; the report keeps the units
		// go test printed.
		val, unit := v.Value, v.Unit
		if v.OrigUnit != "" {
			val, unit = v.OrigValue, v.OrigUnit
		}
		r.vals[unit] = append(r.vals[unit], obs{val, pass})
	}
	return nil
}

// parseMemscale reads the key=value fields of cmd/memscale's lines. Fields
// of the "size" line keep their names; those of the "reap" line get a
// "reap." prefix.
func parseMemscale(r io.Reader) (map[string]string, error) {
	m := make(map[string]string)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "memscale" {
			continue
		}
		pre := ""
		if f[1] == "reap" {
			pre = "reap."
		}
		for _, kv := range f[2:] {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[pre+k] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no memscale lines in the input")
	}
	return m, nil
}
