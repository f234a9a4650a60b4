package main

import (
	"fmt"
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
)

// confidence is the level of every interval in the report.
const confidence = 0.95

// ref names one unit of one row.
type ref struct {
	k    key
	unit string
}

// term is coef times a ref's value.
type term struct {
	r    ref
	coef float64
}

// expr is a quantity the report estimates from the rows: the sum of num,
// or, when den is set, the sum of num divided by the sum of den. An
// overhead is row − floor; a ratio of overheads is (row − floor) ÷
// (anchor − floor).
type expr struct {
	num, den []term
}

// est is the estimate of an expr: a median and its confidence interval.
type est struct {
	center, lo, hi float64
	bound          bool // combined from separate intervals, not paired runs
	ok             bool
	why            string // why there is no estimate, when not for want of rows
}

// refs returns the distinct refs of e, in order.
func (e expr) refs() []ref {
	var rs []ref
	for _, t := range slices.Concat(e.num, e.den) {
		if !slices.Contains(rs, t.r) {
			rs = append(rs, t.r)
		}
	}
	return rs
}

// summary is benchmath's median of vs with its confidence interval at
// level c: order statistics, no assumption about the distribution. Below
// the runs the level needs (6 for 95 %), the bounds are infinite.
//
// Where no interval of order statistics has equal tails at level c,
// benchmath's leans left (with 8 runs, the 1st to the 7th of them; with 5,
// −∞ to the 5th): a limit above would be met more easily than missed. So
// the interval is joined with its mirror image (benchmath's interval of
// the negated runs), which makes it equal-tailed and only wider.
func summary(vs []float64, c float64) benchmath.Summary {
	s := benchmath.AssumeNothing.Summary(benchmath.NewSample(slices.Clone(vs), &benchmath.DefaultThresholds), c)
	neg := make([]float64, len(vs))
	for i, v := range vs {
		neg[i] = -v
	}
	m := benchmath.AssumeNothing.Summary(benchmath.NewSample(neg, &benchmath.DefaultThresholds), c)
	s.Lo, s.Hi = min(s.Lo, -m.Hi), max(s.Hi, -m.Lo)
	return s
}

// eval estimates e. When every row it uses was measured in the same
// labelled passes, it pairs them: e is computed once per pass and the
// median of those values, with its interval, is the estimate. Otherwise
// it combines each row's own interval (see bounds).
func (d *data) eval(e expr) est {
	rs := e.refs()
	series := make([][]obs, len(rs))
	for i, r := range rs {
		row := d.rows[r.k]
		if row == nil || len(row.vals[r.unit]) == 0 {
			return est{}
		}
		series[i] = row.vals[r.unit]
	}
	if passes := commonPasses(series); len(passes) >= 2 {
		return d.paired(e, rs, series, passes)
	}
	return bounds(e, rs, series)
}

// commonPasses returns the passes every series has a value from, in the
// order of the first; none if a series has a value without a pass, or two
// from one pass (then the runs cannot be paired).
func commonPasses(series [][]obs) []string {
	var common []string
	for i, s := range series {
		seen := make(map[string]bool, len(s))
		for _, o := range s {
			if o.pass == "" || seen[o.pass] {
				return nil
			}
			seen[o.pass] = true
		}
		if i == 0 {
			for _, o := range s {
				common = append(common, o.pass)
			}
			continue
		}
		common = slices.DeleteFunc(common, func(p string) bool { return !seen[p] })
	}
	return common
}

// paired computes e once per pass and summarises those values: the
// interval of a median of per-pass differences (or ratios) at the report's
// level. Runs of one pass ran within minutes of each other, so what the
// machine was doing then weighs on both sides of the difference.
func (d *data) paired(e expr, rs []ref, series [][]obs, passes []string) est {
	at := make([]map[string]float64, len(rs))
	for i, s := range series {
		at[i] = make(map[string]float64, len(s))
		for _, o := range s {
			at[i][o.pass] = o.v
		}
	}
	sum := func(ts []term, pass string) float64 {
		v := 0.0
		for _, t := range ts {
			v += t.coef * at[slices.Index(rs, t.r)][pass]
		}
		return v
	}
	xs := make([]float64, 0, len(passes))
	for _, p := range passes {
		x := sum(e.num, p)
		if e.den != nil {
			den := sum(e.den, p)
			if den <= 0 {
				return est{why: fmt.Sprintf("the divisor is %s in pass %s", num(den), p)}
			}
			x /= den
		}
		xs = append(xs, x)
	}
	s := summary(xs, confidence)
	return est{center: s.Center, lo: s.Lo, hi: s.Hi, ok: true}
}

// bounds estimates e from each row's own median interval, for runs that
// cannot be paired: a sum's interval is the sum of the terms' intervals
// (each bound taken on the side its sign calls for), a ratio's is the
// widest the two sums' intervals allow. If every row's interval holds its
// true median, the result holds e of the true medians, so with k rows each
// interval is taken at level 1 − (1 − confidence)/k (Bonferroni) and the
// result is at least at the report's level. It is conservative: wider
// than a paired interval, and the rows need more runs before it is finite.
func bounds(e expr, rs []ref, series [][]obs) est {
	c := 1 - (1-confidence)/float64(len(rs))
	ss := make([]benchmath.Summary, len(rs))
	for i, s := range series {
		vs := make([]float64, len(s))
		for j, o := range s {
			vs[j] = o.v
		}
		ss[i] = summary(vs, c)
	}
	sum := func(ts []term) (center, lo, hi float64) {
		for _, t := range ts {
			s := ss[slices.Index(rs, t.r)]
			center += t.coef * s.Center
			if t.coef >= 0 {
				lo, hi = lo+t.coef*s.Lo, hi+t.coef*s.Hi
			} else {
				lo, hi = lo+t.coef*s.Hi, hi+t.coef*s.Lo
			}
		}
		return center, lo, hi
	}
	center, lo, hi := sum(e.num)
	r := est{center: center, lo: lo, hi: hi, bound: len(rs) > 1, ok: true}
	if e.den == nil {
		return r
	}
	dc, dlo, dhi := sum(e.den)
	if dc <= 0 {
		return est{why: fmt.Sprintf("the divisor is %s", num(dc))}
	}
	r.center = center / dc
	if dlo <= 0 || math.IsInf(dhi, 0) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		// The divisor may be near zero (or the bounds are unknown): the
		// ratio is unbounded.
		r.lo, r.hi = math.Inf(-1), math.Inf(1)
		return r
	}
	r.lo = min(lo/dlo, lo/dhi)
	r.hi = max(hi/dlo, hi/dhi)
	return r
}

// single is a row's own median and interval in one unit.
func (d *data) single(k key, unit string) est {
	return d.eval(expr{num: []term{{ref{k, unit}, 1}}})
}

// over is subject's overhead over the floor on the same framework,
// scenario and mode.
func over(fw, subject, scenario, mode, unit string) []term {
	return []term{
		{ref{key{fw, subject, scenario, mode}, unit}, 1},
		{ref{key{fw, floor, scenario, mode}, unit}, -1},
	}
}

// beyond is the time per request a serial Redis row spends beyond the
// floor and outside its round trips: ns/op − the floor's ns/op − rt-ns/op.
// In a serial row nothing else waits, so that is work on the CPU.
func beyond(fw, subject, scenario string) []term {
	return append(over(fw, subject, scenario, "serial", "ns/op"),
		term{ref{key{fw, subject, scenario, "serial"}, "rt-ns/op"}, -1})
}
