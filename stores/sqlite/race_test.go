//go:build race

package sqlitestore_test

// raceEnabled is set under -race, which slows the transpiled SQLite
// down about tenfold: the largest tests scale their data down by it.
const raceEnabled = true
