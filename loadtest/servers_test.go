package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pgSchema creates a PostgreSQL schema of its own for the test, dropped
// with everything in it at the end, and returns a URL whose search_path
// puts the demo's session table there. host is the host:port the URL
// names (the server itself or a proxy to it).
func pgSchema(t testing.TB, host string) (url, schema string) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema = "loadtest_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	require.NoError(t, err, "PostgreSQL at %s", pgAddr)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgURL)
		if !assert.NoError(t, err, "dropping schema %s", schema) {
			return
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		assert.NoError(t, err, "dropping schema %s", schema)
	})
	return fmt.Sprintf("postgres://postgres@%s/test?sslmode=disable&search_path=%s", host, schema), schema
}
