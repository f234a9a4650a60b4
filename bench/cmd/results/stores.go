package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// storeRow is one store benchmark's values per unit, over its runs.
type storeRow map[string][]float64

// storeData is the stores' benchmarks (their modules' BenchmarkLoad,
// BenchmarkCommit, BenchmarkCommitNew and BenchmarkWrites), by store
// ("redis", "postgres", "sqlite", from the package path) and name.
type storeData map[string]map[string]storeRow

// parseStores reads the stores' go test -bench output.
func parseStores(r io.Reader) (storeData, error) {
	sd := storeData{}
	rd := benchfmt.NewReader(r, "stores")
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		store := res.GetConfig("pkg")
		store = store[strings.LastIndex(store, "/")+1:]
		name := strings.TrimPrefix(string(res.Name.Base()), "Benchmark")
		if full := string(res.Name); strings.Contains(full, "/") {
			name = strings.TrimPrefix(full[:strings.LastIndex(full, "-")], "Benchmark")
		}
		if sd[store] == nil {
			sd[store] = map[string]storeRow{}
		}
		row := sd[store][name]
		if row == nil {
			row = storeRow{}
			sd[store][name] = row
		}
		for _, v := range res.Values {
			row[v.Unit] = append(row[v.Unit], v.Value)
		}
	}
	return sd, rd.Err()
}

// storeCols are the columns of the stores' table: the benchmark name of
// each store for it, and how to show its figure.
var storeCols = []struct {
	title string
	names map[string]string // store → benchmark
	unit  string
	scale float64
	label string
}{
	{"load", map[string]string{"redis": "Load/single", "postgres": "Load", "sqlite": "Load"}, "sec/op", 1e6, "µs"},
	{"commit (load + write)", map[string]string{"redis": "Commit/single", "postgres": "Commit", "sqlite": "Commit/sync=NORMAL"}, "sec/op", 1e6, "µs"},
	{"new session", map[string]string{"redis": "CommitNew/single", "postgres": "CommitNew", "sqlite": "CommitNew/sync=NORMAL"}, "sec/op", 1e6, "µs"},
	{"writes/s, 1 session", map[string]string{"redis": "Writes/single/sessions=1", "postgres": "Writes/sessions=1", "sqlite": "Writes/sync=NORMAL/sessions=1"}, "writes/s", 1, ""},
	{"writes/s, 8 sessions", map[string]string{"redis": "Writes/single/sessions=8", "postgres": "Writes/sessions=8", "sqlite": "Writes/sync=NORMAL/sessions=8"}, "writes/s", 1, ""},
	{"writes/s, 64 sessions", map[string]string{"redis": "Writes/single/sessions=64", "postgres": "Writes/sessions=64", "sqlite": "Writes/sync=NORMAL/sessions=64"}, "writes/s", 1, ""},
}

// renderStores writes the stores' table: every figure a median with its
// 95 % interval over the runs.
func renderStores(b *strings.Builder, sd storeData) {
	if len(sd) == 0 {
		return
	}
	b.WriteString("\n## Stores\n\n")
	b.WriteString("Each store's own benchmarks (stores/*/bench_test.go), through a Manager on the local server or file:\n")
	b.WriteString("a request that loads its session, one that loads and changes it, a first visit that stores a new\n")
	b.WriteString("one, and the writes per second that 1, 8 and 64 sessions written at once reach. Redis is the single\n")
	b.WriteString("node, SQLite runs with synchronous=NORMAL (sqlite's own FULL rows are in the raw output), PostgreSQL\n")
	b.WriteString("with the server's defaults (synchronous_commit=on). Median of the runs, 95 % interval in brackets.\n\n")
	stores := []string{"redis", "postgres", "sqlite"}
	b.WriteString("| | " + strings.Join(stores, " | ") + " |\n|---|" + strings.Repeat("---|", len(stores)) + "\n")
	for _, c := range storeCols {
		b.WriteString("| " + c.title + " |")
		for _, s := range stores {
			vs := sd[s][c.names[s]][c.unit]
			if len(vs) == 0 {
				b.WriteString(" no data |")
				continue
			}
			sum := summary(vs, confidence)
			e := est{center: sum.Center * c.scale, lo: sum.Lo * c.scale, hi: sum.Hi * c.scale, ok: true}
			b.WriteString(" " + interval(e, 1, false, c.label) + " |")
		}
		b.WriteString("\n")
	}
	var extra []string
	for s, rows := range sd {
		if !slices.Contains(stores, s) {
			extra = append(extra, fmt.Sprintf("%s (%d rows)", s, len(rows)))
		}
	}
	if len(extra) > 0 {
		fmt.Fprintf(b, "\nAlso in the raw output: %s.\n", strings.Join(extra, ", "))
	}
}
