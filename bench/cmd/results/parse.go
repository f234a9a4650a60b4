package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// key names one benchmark row: BenchmarkSessions/fw/subject/scenario/mode.
type key struct {
	fw, subject, scenario, mode string
}

// row holds every value a row reported, per unit, one per run.
type row struct {
	vals map[string][]float64
}

// med returns the median of unit over the runs, and whether there is one.
func (r *row) med(unit string) (float64, bool) {
	if r == nil {
		return 0, false
	}
	v := slices.Clone(r.vals[unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// runs returns how many runs reported the row.
func (r *row) runs() int {
	if r == nil {
		return 0
	}
	return len(r.vals["ns/op"])
}

// data is everything read from the inputs.
type data struct {
	meta     [][2]string // bench-meta and the go test header, in order
	rows     map[key]*row
	fws      []string            // frameworks, in order of appearance
	subjects map[string][]string // per framework, in order of appearance
	mem      map[string]string   // memscale fields
}

func (d *data) row(fw, subject, scenario, mode string) *row {
	return d.rows[key{fw, subject, scenario, mode}]
}

const prefix = "BenchmarkSessions/"

// parseBench reads go test -bench output. Lines it does not know are
// skipped; a benchmark line it cannot read is an error.
func parseBench(r io.Reader) (*data, error) {
	d := &data{rows: make(map[key]*row), subjects: make(map[string][]string)}
	sc := bufio.NewScanner(r)
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
		case strings.HasPrefix(line, prefix):
			if err := d.addLine(line); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(d.rows) == 0 {
		return nil, fmt.Errorf("no BenchmarkSessions results in the input")
	}
	return d, nil
}

func (d *data) addLine(line string) error {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		if len(f) == 1 {
			return nil // a parent benchmark's name line, or a failure notice
		}
		return fmt.Errorf("cannot read benchmark line %q", line)
	}
	name := strings.TrimPrefix(f[0], prefix)
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i] // the GOMAXPROCS suffix
		}
	}
	parts := strings.Split(name, "/")
	if len(parts) != 4 {
		return fmt.Errorf("unexpected benchmark name %q", f[0])
	}
	k := key{parts[0], parts[1], parts[2], parts[3]}
	r := d.rows[k]
	if r == nil {
		r = &row{vals: make(map[string][]float64)}
		d.rows[k] = r
		if !slices.Contains(d.fws, k.fw) {
			d.fws = append(d.fws, k.fw)
		}
		if !slices.Contains(d.subjects[k.fw], k.subject) {
			d.subjects[k.fw] = append(d.subjects[k.fw], k.subject)
		}
	}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return fmt.Errorf("cannot read %q in %q", f[i], line)
		}
		r.vals[f[i+1]] = append(r.vals[f[i+1]], v)
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
