package sqlitestore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults of the options.
const (
	// DefaultTable is the session table's name unless WithTable sets
	// another. The owner index lives in the table of the same name with
	// "_owners" appended.
	DefaultTable = "sessionkit_sessions"

	// DefaultCleanupInterval is how often expired rows are deleted unless
	// WithCleanupInterval says otherwise, as the memory store's reap
	// interval.
	DefaultCleanupInterval = 10 * time.Minute

	// DefaultCleanupBatch is how many expired rows one cleanup statement
	// deletes at most unless WithCleanupBatch says otherwise.
	DefaultCleanupBatch = 1000

	// DefaultBusyTimeout is how long a connection Open makes waits for
	// another process's write lock unless WithBusyTimeout says otherwise.
	DefaultBusyTimeout = 5 * time.Second
)

// maxNameLen bounds a table name: generous, and short enough that the
// names derived from it stay readable in error messages.
const maxNameLen = 48

// Synchronous is SQLite's synchronous setting, which decides when a commit
// waits for the disk. See the package documentation for what each costs.
type Synchronous int

const (
	// SynchronousNormal, the default, syncs the write-ahead log at
	// checkpoints only: a commit costs no fsync, nothing is ever lost when
	// the process crashes or is killed, and an operating-system crash or
	// power cut may roll back the last commits (the database stays
	// consistent).
	SynchronousNormal Synchronous = iota + 1

	// SynchronousFull syncs the write-ahead log at every commit: a commit
	// survives a power cut once it returns, at the price of one fsync per
	// write.
	SynchronousFull
)

func (s Synchronous) pragma() string {
	if s == SynchronousFull {
		return "FULL"
	}
	return "NORMAL"
}

// An Option configures a Store in Open or New. Invalid values make Open
// and New return an error.
type Option func(*config) error

// config is what the options set.
type config struct {
	table           string
	cleanupInterval time.Duration
	cleanupBatch    int
	logger          *slog.Logger

	// For the connections Open makes; New refuses them (see connOption).
	busyTimeout time.Duration
	sync        Synchronous
	connOption  string // the first connection option given, for New's error
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		table:           DefaultTable,
		cleanupInterval: DefaultCleanupInterval,
		cleanupBatch:    DefaultCleanupBatch,
		busyTimeout:     DefaultBusyTimeout,
		sync:            SynchronousNormal,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("sqlitestore: nil Option")
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c, nil
}

// WithTable sets the name of the session table; the owner index is kept
// in the table of the same name with "_owners" appended. The name must be
// ASCII letters, digits and underscores, not starting with a digit or with
// "sqlite_", at most 48 bytes. The default is DefaultTable.
func WithTable(name string) Option {
	return func(c *config) error {
		if err := validTable(name); err != nil {
			return err
		}
		c.table = name
		return nil
	}
}

// WithCleanupInterval sets how often a background goroutine deletes
// expired rows. A negative value turns the cleanup off (expired rows are
// still never returned), for instance when a job calls DeleteExpired;
// zero is an error. The default is DefaultCleanupInterval.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error {
		if d == 0 {
			return errors.New("sqlitestore: WithCleanupInterval(0): give a positive interval, or a negative one to turn the cleanup off")
		}
		c.cleanupInterval = d
		return nil
	}
}

// WithCleanupBatch sets how many expired rows one cleanup statement
// deletes at most. Each batch is its own short write transaction, so a
// sweep holds the database's single write lock only briefly at a time.
// The default is DefaultCleanupBatch.
func WithCleanupBatch(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("sqlitestore: WithCleanupBatch(%d): the batch must be positive", n)
		}
		c.cleanupBatch = n
		return nil
	}
}

// WithLogger sets where the errors of the background cleanup go, since it
// has no caller to return them to. The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("sqlitestore: WithLogger(nil)")
		}
		c.logger = l
		return nil
	}
}

// WithBusyTimeout sets how long a statement waits for the write lock
// another process holds before it fails (SQLite's busy_timeout); the
// request's context can end the wait sooner. Writers of one Store queue
// in Go and never wait here. It configures the connections Open makes:
// New refuses it. The default is DefaultBusyTimeout.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("sqlitestore: WithBusyTimeout(%v): give at least a millisecond, or writers of other processes fail at once", d)
		}
		c.busyTimeout = d
		c.setConnOption("WithBusyTimeout")
		return nil
	}
}

// WithSynchronous sets SQLite's synchronous setting (see Synchronous). It
// configures the connections Open makes: New refuses it. The default is
// SynchronousNormal.
func WithSynchronous(s Synchronous) Option {
	return func(c *config) error {
		if s != SynchronousNormal && s != SynchronousFull {
			return fmt.Errorf("sqlitestore: WithSynchronous(%d): want SynchronousNormal or SynchronousFull", s)
		}
		c.sync = s
		c.setConnOption("WithSynchronous")
		return nil
	}
}

func (c *config) setConnOption(name string) {
	if c.connOption == "" {
		c.connOption = name
	}
}

// validTable checks a table name: it is spliced into SQL (quoted), so
// only plain identifiers pass.
func validTable(name string) error {
	ok := name != "" && len(name) <= maxNameLen
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("sqlitestore: table name %q: want ASCII letters, digits and underscores, not starting with a digit, at most %d bytes",
			name, maxNameLen)
	}
	if len(name) >= 7 && strings.EqualFold(name[:7], "sqlite_") {
		return fmt.Errorf("sqlitestore: table name %q: names starting with sqlite_ are reserved by SQLite", name)
	}
	return nil
}
