//go:build !race

package sqlitestore_test

// raceEnabled is set under -race (see race_test.go).
const raceEnabled = false
