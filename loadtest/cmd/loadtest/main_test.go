package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLongFormShortened runs the command as documented, shortened: it
// builds and starts the gin demo on a bounded memory store, runs the load,
// the one-session test and a flood, and must exit 0 with the summary
// lines.
func TestLongFormShortened(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"-framework", "gin", "-clients", "4", "-duration", "500ms",
		"-concurrent", "4", "-flood", "3000", "-max-sessions", "1024"}, &out, &errOut)
	t.Logf("output:\n%s%s", out.String(), errOut.String())
	require.Zero(t, code, "exit code")
	for _, want := range []string{"started gin demo on http://127.0.0.1:", "clients=4 ", " lost=0 leaks=0 errors=0 ",
		"one session, 4 goroutines: 40 writes acknowledged, 40 survived", "flood of 3000 cookie-less requests", "demo RSS "} {
		assert.Contains(t, out.String(), want, "the output lacks %q", want)
	}
}

// TestBadCommandLine: an invalid command line exits 2 before doing
// anything.
func TestBadCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"-clients", "0"},
		{"-duration", "0"},
		{"-nope"},
		{"extra"},
		{"-target", "ftp://127.0.0.1:1"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		assert.Equal(t, 2, code, "%q: exit code\n%s%s", args, out.String(), errOut.String())
	}
}
