// Command loadtest is the long form of the sessionkit load test: it drives
// a demo app over real HTTP with many concurrent clients, each with its
// own cookie jar, and checks that no acknowledged write is lost and no
// client ever sees another's session.
//
//	go run ./loadtest/cmd/loadtest -framework gin -store redis://127.0.0.1:6379/3 -clients 200 -duration 60s
//	go run ./loadtest/cmd/loadtest -target http://127.0.0.1:8080 -clients 50 -requests 100000
//
// Without -target it builds the demo of -framework with go build (run it
// inside the sessionkit Go workspace), starts it on 127.0.0.1 with a free
// port and -store, and stops it at the end; it then also reports the
// demo's memory (RSS) and checks that its log holds no session ID.
// -concurrent N adds the one-session test (N goroutines sharing one
// cookie), -flood N a flood of N cookie-less requests followed by a count
// of the sessions still stored (bound it with -max-sessions on the memory
// store).
//
// It prints one summary line per part and exits 0 when nothing was lost,
// nothing leaked and no request failed, 1 otherwise, 2 for a bad command
// line. SIGINT ends the load early; the final check still runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionkit/sessionkit/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options is the command line.
type options struct {
	target, framework, store string
	clients, requests, keys  int
	duration, timeout        time.Duration
	readWriteOnly            bool
	concurrent, flood        int
	maxSessions              int
	lifetime                 time.Duration
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.target, "target", "", "base `URL` of a running demo; without it the demo of -framework is built and started")
	fs.StringVar(&o.framework, "framework", "nethttp", "demo to start without -target: "+strings.Join(loadtest.Frameworks, ", "))
	fs.StringVar(&o.store, "store", "memory", "-store of the demo started without -target: memory, redis://host:port/db, postgres://..., sqlite:PATH")
	fs.IntVar(&o.maxSessions, "max-sessions", 0, "-max-sessions of the demo started without -target (memory store bound)")
	fs.DurationVar(&o.lifetime, "lifetime", 10*time.Minute, "-lifetime of the demo started without -target")
	fs.IntVar(&o.clients, "clients", loadtest.DefaultClients, "concurrent clients, each with its own cookie jar")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long the load runs")
	fs.IntVar(&o.requests, "requests", 0, "stop after this many requests in all (0: only -duration)")
	fs.DurationVar(&o.timeout, "timeout", loadtest.DefaultTimeout, "per-request timeout")
	fs.IntVar(&o.keys, "keys", loadtest.DefaultKeys, "distinct value keys per client")
	fs.BoolVar(&o.readWriteOnly, "read-write-only", false, "no logins after the first and no logouts")
	fs.IntVar(&o.concurrent, "concurrent", 0, "also run N goroutines writing one session at once (0: skip)")
	fs.IntVar(&o.flood, "flood", 0, "also flood N cookie-less requests and count the sessions left (0: skip)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.clients <= 0 || o.requests < 0 || o.duration < 0 || o.timeout <= 0 || o.keys <= 0 || o.concurrent < 0 || o.flood < 0:
		return o, errors.New("-clients, -timeout and -keys must be positive; -requests, -duration, -concurrent and -flood not negative")
	case o.duration == 0 && o.requests == 0:
		return o, errors.New("give -duration or -requests")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	target := o.target
	var demo *loadtest.Demo
	if target == "" {
		if demo, err = startDemo(ctx, o); err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		defer func() {
			if err := demo.Stop(30 * time.Second); err != nil {
				fmt.Fprintf(stderr, "loadtest: the demo did not stop cleanly: %v\n", err)
			}
		}()
		target = demo.URL
		fmt.Fprintf(stdout, "loadtest: started %s demo on %s (store %s)\n", o.framework, target, storeName(o.store))
	}

	failed := false
	res, err := loadtest.Run(ctx, loadtest.Config{
		Target: target, Clients: o.clients, Duration: o.duration, Requests: o.requests,
		Timeout: o.timeout, Keys: o.keys, ReadWriteOnly: o.readWriteOnly,
	})
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	fmt.Fprintln(stdout, res)
	if res.Lost != 0 || res.Leaks != 0 || res.Errors != 0 {
		failed = true
		for _, p := range res.Problems {
			fmt.Fprintln(stdout, "  "+p)
		}
	}
	ids := res.SessionIDs

	if o.concurrent > 0 {
		cr, err := loadtest.ConcurrentSession(context.WithoutCancel(ctx), target, o.concurrent, 10)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		fmt.Fprintln(stdout, "loadtest:", cr)
		if cr.Survived != cr.Acknowledged || cr.Errors != 0 || cr.Split != 0 {
			failed = true
			for _, p := range cr.Problems {
				fmt.Fprintln(stdout, "  "+p)
			}
		}
	}
	if o.flood > 0 {
		start := time.Now()
		fids, err := loadtest.Flood(ctx, target, o.flood, 16)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		elapsed := time.Since(start)
		live, err := loadtest.CountLive(ctx, target, fids, 16)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		fmt.Fprintf(stdout, "loadtest: flood of %d cookie-less requests in %v: %d sessions still stored\n", o.flood, elapsed.Round(time.Millisecond), live)
		if o.maxSessions > 0 && live > o.maxSessions {
			failed = true
			fmt.Fprintf(stdout, "  more than -max-sessions %d\n", o.maxSessions)
		}
		ids = append(ids, fids...)
	}

	if demo != nil {
		if rss, err := demo.RSS(); err == nil {
			fmt.Fprintf(stdout, "loadtest: demo RSS %d MiB\n", rss>>20)
		}
		log := demo.Log()
		for _, id := range ids {
			if id != "" && strings.Contains(log, id) {
				fmt.Fprintln(stdout, "loadtest: the demo logged a session ID")
				failed = true
				break
			}
		}
		if strings.Contains(log, "panic") || strings.Contains(log, "DATA RACE") {
			fmt.Fprintln(stdout, "loadtest: the demo logged a panic or a data race")
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// storeName returns a -store value as it may be printed: without the
// URL's user, password and query. memory and sqlite:PATH hold none.
func storeName(spec string) string {
	if !strings.Contains(spec, "://") {
		return spec
	}
	u, err := url.Parse(spec)
	if err != nil || u.Scheme == "" {
		return spec
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// startDemo builds and starts the demo o names.
func startDemo(ctx context.Context, o options) (*loadtest.Demo, error) {
	dir, err := os.MkdirTemp("", "sessionkit-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir) // the running binary stays usable on Linux
	bins, err := loadtest.BuildDemos(ctx, dir, o.framework)
	if err != nil {
		return nil, err
	}
	args := []string{"-store", o.store}
	if o.store != "memory" {
		args = append(args, "-lifetime", o.lifetime.String())
	}
	if o.maxSessions > 0 {
		args = append(args, "-max-sessions", strconv.Itoa(o.maxSessions))
	}
	return loadtest.StartDemo(bins[o.framework], args...)
}
