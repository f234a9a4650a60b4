package bench

import (
	"fmt"
	"slices"
)

// exampleEnv lets an example build a subject: it keeps the cleanups and
// panics on failure.
type exampleEnv struct{ cleanups []func() }

func (e *exampleEnv) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleEnv) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (e *exampleEnv) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (e *exampleEnv) close() {
	for _, f := range slices.Backward(e.cleanups) {
		f()
	}
}

// Example drives sessionkit's net/http middleware in process the way the
// benchmark does: a client seeds a session of its own (the handler stores
// 42), then every write request must answer the next value of its counter.
func Example() {
	e := new(exampleEnv)
	defer e.close()
	i := slices.IndexFunc(subjects, func(s subject) bool { return s.name() == "nethttp/sessionkit.mem" })
	t := subjects[i].build(e)
	d, err := t.newDriver(scenarios[slices.IndexFunc(scenarios, func(sc *scenario) bool { return sc.name == "write" })])
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		if err := d.step(); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("write answered", d.want-1)
	}
	// Output:
	// write answered 43
	// write answered 44
	// write answered 45
}
