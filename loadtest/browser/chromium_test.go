package browser

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecPathNotFound(t *testing.T) {
	t.Setenv(EnvExecPath, "")
	t.Setenv("PATH", t.TempDir()) // an empty directory: no browser anywhere
	p, err := ExecPath()
	require.ErrorIs(t, err, ErrNoChromium, "ExecPath() = %q", p)
	for _, want := range []string{"chromium, chromium-browser", "scripts/install-chromium.sh", "apt-get install -y chromium", EnvExecPath} {
		assert.Contains(t, err.Error(), want, "the error does not mention it")
	}
}

func TestExecPathLookup(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "chromium-browser")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv(EnvExecPath, "")
	t.Setenv("PATH", dir)
	p, err := ExecPath()
	require.NoError(t, err, "ExecPath(), want the chromium-browser on PATH")
	require.Equal(t, fake, p, "ExecPath(), want the chromium-browser on PATH")

	// The variable wins over PATH, and must name an executable.
	other := filepath.Join(t.TempDir(), "my-chrome")
	require.NoError(t, os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv(EnvExecPath, other)
	p, err = ExecPath()
	require.NoError(t, err, "with $%s set: ExecPath()", EnvExecPath)
	require.Equal(t, other, p, "with $%s set: ExecPath()", EnvExecPath)
	missing := filepath.Join(dir, "no-such-browser")
	t.Setenv(EnvExecPath, missing)
	p, err = ExecPath()
	require.ErrorIs(t, err, ErrNoChromium, "with $%s naming a missing file: ExecPath() = %q", EnvExecPath, p)
	require.Contains(t, err.Error(), missing, "with $%s naming a missing file: the error does not name it", EnvExecPath)
}
