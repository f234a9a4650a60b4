package main

import (
	"fmt"
	"math"
	"strconv"
)

// decimals is how many decimals a value of v's size is shown with.
func decimals(v float64) int {
	if whole(v) {
		return 0
	}
	return decimalsFor(v)
}

// fixed formats v with dec decimals; infinities as ∞.
func fixed(v float64, dec int) string {
	switch {
	case math.IsInf(v, 1):
		return "+∞"
	case math.IsInf(v, -1):
		return "−∞"
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// num formats a measurement compactly.
func num(v float64) string { return fixed(v, decimals(v)) }

func signed(v float64) string {
	if v >= 0 {
		return "+" + num(v)
	}
	return num(v)
}

// interval formats an estimate scaled by scale: the median, then the
// interval's bounds with as many decimals, e.g. "+1.21 [0.95, 1.60]".
// When the bounds are equal (the middle runs agree) only the value is
// shown. A "†" marks an interval bounded from separate rows' intervals
// rather than from paired runs.
func interval(e est, scale float64, sign bool, unit string) string {
	c, lo, hi := e.center*scale, e.lo*scale, e.hi*scale
	dec := 0
	if !whole(c) || !whole(lo) || !whole(hi) {
		dec = decimalsFor(c)
	}
	s := fixed(c, dec)
	if sign && c >= 0 {
		s = "+" + s
	}
	switch unit {
	case "":
	case "×":
		s += unit
	default:
		s += " " + unit
	}
	if lo == hi && lo == c {
		return s
	}
	s += fmt.Sprintf(" [%s, %s]", fixed(lo, dec), fixed(hi, dec))
	if e.bound {
		s += " †"
	}
	return s
}

// whole reports whether v is a whole number (or infinite).
func whole(v float64) bool { return math.IsInf(v, 0) || v == math.Trunc(v) }

// decimalsFor is decimals for a value that is not a whole number.
func decimalsFor(v float64) int {
	switch a := math.Abs(v); {
	case a >= 100:
		return 0
	case a >= 10:
		return 1
	case a >= 0.1:
		return 2
	default:
		return 3
	}
}

// us formats a time overhead in ns as µs with its interval.
func us(e est) string { return interval(e, 1e-3, true, "µs") }

// usMedian formats a time overhead in ns as µs, the median alone.
func usMedian(e est) string {
	v := e.center * 1e-3
	s := fixed(v, decimalsFor(v)) + " µs"
	if v >= 0 {
		return "+" + s
	}
	return s
}

// count formats a count overhead (allocations) with its interval.
func count(e est) string { return interval(e, 1, true, "") }

// ratio formats a ratio with its interval.
func ratio(e est) string { return interval(e, 1, false, "") }

// rowCell formats a row's own median: the value, and the half-width of
// its interval as a percentage of it (as benchstat does) unless the
// middle runs agree.
func rowCell(e est) string {
	if !e.ok {
		return "—"
	}
	s := num(e.center)
	switch {
	case e.lo == e.hi:
		return s
	case math.IsInf(e.lo, 0) || math.IsInf(e.hi, 0):
		return s + " ±∞"
	case e.center == 0:
		return s
	}
	p := math.Max(e.hi/e.center-1, 1-e.lo/e.center)
	return fmt.Sprintf("%s ±%.0f%%", s, 100*p)
}

// cellOf formats an optional estimate with f.
func cellOf(e est, f func(est) string) string {
	if !e.ok {
		return "—"
	}
	return f(e)
}
