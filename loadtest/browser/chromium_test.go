package browser

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExecPathNotFound(t *testing.T) {
	t.Setenv(EnvExecPath, "")
	t.Setenv("PATH", t.TempDir()) // an empty directory: no browser anywhere
	p, err := ExecPath()
	if !errors.Is(err, ErrNoChromium) {
		t.Fatalf("ExecPath() = %q, %v; want an error wrapping ErrNoChromium", p, err)
	}
	for _, want := range []string{"chromium, chromium-browser", "scripts/install-chromium.sh", "apt-get install -y chromium", EnvExecPath} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not mention %q", err, want)
		}
	}
}

func TestExecPathLookup(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "chromium-browser")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvExecPath, "")
	t.Setenv("PATH", dir)
	if p, err := ExecPath(); err != nil || p != fake {
		t.Fatalf("ExecPath() = %q, %v; want the chromium-browser on PATH, %q", p, err, fake)
	}

	// The variable wins over PATH, and must name an executable.
	other := filepath.Join(t.TempDir(), "my-chrome")
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvExecPath, other)
	if p, err := ExecPath(); err != nil || p != other {
		t.Fatalf("with $%s set: ExecPath() = %q, %v; want %q", EnvExecPath, p, err, other)
	}
	missing := filepath.Join(dir, "no-such-browser")
	t.Setenv(EnvExecPath, missing)
	if p, err := ExecPath(); !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("with $%s naming a missing file: ExecPath() = %q, %v; want an ErrNoChromium naming it", EnvExecPath, p, err)
	}
}
