package loadtest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sessionkit/sessionkit/loadtest"
)

// Build the net/http demo, start it on the memory store, drive it with
// eight clients for half a second, and check the result.
func Example() {
	dir, err := os.MkdirTemp("", "loadtest-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	bins, err := loadtest.BuildDemos(ctx, dir, "nethttp")
	if err != nil {
		log.Fatal(err)
	}
	demo, err := loadtest.StartDemo(bins["nethttp"], "-store", "memory")
	if err != nil {
		log.Fatal(err)
	}
	defer demo.Stop(10 * time.Second)

	res, err := loadtest.Run(ctx, loadtest.Config{Target: demo.URL, Clients: 8, Duration: 500 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("lost:", res.Lost, "leaks:", res.Leaks, "errors:", res.Errors)
	fmt.Println("every client's values checked:", res.WritesChecked > 0)
	// Output:
	// lost: 0 leaks: 0 errors: 0
	// every client's values checked: true
}
