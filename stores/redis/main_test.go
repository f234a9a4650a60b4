package redisstore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// testLogger receives go-redis's own log lines. While a test has claimed it
// with logTo (the fault tests, which make go-redis log every failed dial),
// the lines go to that test's log, shown with -v or on failure; otherwise
// to stderr as usual.
type testLogger struct {
	mu sync.Mutex
	tb testing.TB
}

var redisLog = &testLogger{}

func (l *testLogger) Printf(_ context.Context, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tb != nil {
		l.tb.Logf("go-redis: "+format, v...)
		return
	}
	fmt.Fprintf(os.Stderr, "go-redis: "+format+"\n", v...)
}

// logTo sends go-redis's log lines to tb's log until tb ends.
func logTo(tb testing.TB) {
	redisLog.mu.Lock()
	redisLog.tb = tb
	redisLog.mu.Unlock()
	tb.Cleanup(func() {
		redisLog.mu.Lock()
		redisLog.tb = nil
		redisLog.mu.Unlock()
	})
}

func TestMain(m *testing.M) {
	redis.SetLogger(redisLog)
	os.Exit(m.Run())
}
