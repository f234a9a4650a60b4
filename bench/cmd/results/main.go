// Command results turns the output of `go test -bench BenchmarkSessions`
// (and of cmd/memscale) into bench/RESULTS.md: the median of every row with
// its confidence interval, sessionkit's overhead over the floor next to
// each anchor's, and the project's performance targets marked met, missed
// or inconclusive by the intervals.
//
// Usage:
//
//	go run ./cmd/results -bench bench.txt [-memscale memscale.txt] [-stores stores.txt] [-o RESULTS.md]
//
// It reads the benchmark output with golang.org/x/perf/benchfmt and
// summarises it with golang.org/x/perf/benchmath. Results after a
// "pass: N" line (scripts/bench.sh writes one before each pass over every
// row) are paired by pass when rows are compared; see the report's "How to
// read it". Lines of the form "bench-meta key=value" are shown in the
// header of the report (scripts/bench.sh records the flags and the
// machine's load there). The frameworks come from the data; their titles
// and anchors from the table in frameworks.go.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	benchFile := flag.String("bench", "", "go test -bench output to read (required)")
	memFile := flag.String("memscale", "", "cmd/memscale output to read")
	storesFile := flag.String("stores", "", "the stores' go test -bench output to read")
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.Parse()
	if err := run(*benchFile, *memFile, *storesFile, *out); err != nil {
		fmt.Fprintln(os.Stderr, "results:", err)
		os.Exit(1)
	}
}

func run(benchFile, memFile, storesFile, out string) error {
	if benchFile == "" {
		return fmt.Errorf("-bench is required")
	}
	f, err := os.Open(benchFile)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := parseBench(f)
	if err != nil {
		return err
	}
	if memFile != "" {
		mf, err := os.Open(memFile)
		if err != nil {
			return err
		}
		defer mf.Close()
		if d.mem, err = parseMemscale(mf); err != nil {
			return err
		}
	}
	if storesFile != "" {
		sf, err := os.Open(storesFile)
		if err != nil {
			return err
		}
		defer sf.Close()
		if d.stores, err = parseStores(sf); err != nil {
			return err
		}
	}
	var w io.Writer = os.Stdout
	if out != "" {
		of, err := os.Create(out)
		if err != nil {
			return err
		}
		defer of.Close()
		w = of
	}
	var b strings.Builder
	render(&b, d)
	_, err = io.WriteString(w, b.String())
	return err
}
