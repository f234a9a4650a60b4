package bench

import (
	"fmt"
	"slices"
)

// exampleEnv lets an example build a subject: it keeps the cleanups and
// panics on failure, with what require reported.
type exampleEnv struct {
	cleanups []func()
	failure  string
}

func (e *exampleEnv) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleEnv) Errorf(format string, args ...any) { e.failure += fmt.Sprintf(format, args...) }
func (e *exampleEnv) FailNow()                          { panic(e.failure) }

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
