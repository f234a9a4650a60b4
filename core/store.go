package session

import (
	"context"
	"time"
)

// Store keeps encoded session records under fingerprint keys. It is the
// Connect store contract with contexts and errors. Implementations must be
// safe for concurrent use.
type Store interface {
	// Get returns the record stored under key. It returns ErrNotFound when
	// there is none or it has expired. The caller must not modify the
	// returned slice.
	Get(ctx context.Context, key string) ([]byte, error)

	// Set stores data under key until expiry; a remote store should use it
	// as a native TTL. Set with empty data destroys the record, as in the
	// seed. Set must not keep data after it returns unless it copies it.
	Set(ctx context.Context, key string, data []byte, expiry time.Time) error

	// Delete removes the record under key. Deleting a missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
}

// VersionedStore is a Store that can update a record atomically with
// compare-and-swap. The Manager uses it, when offered, so that concurrent
// requests on one session never lose each other's changes.
type VersionedStore interface {
	Store

	// GetVersion is Get that also returns the record's version, a number
	// that changes every time the record is written.
	GetVersion(ctx context.Context, key string) (data []byte, version uint64, err error)

	// SetVersion stores data under key only if the record's current
	// version is version, where version 0 means the key must not exist. It
	// returns ErrConflict otherwise and leaves the record as it was.
	SetVersion(ctx context.Context, key string, data []byte, expiry time.Time, version uint64) error
}

// Clearer is a Store that can remove every record it holds.
type Clearer interface {
	Clear(ctx context.Context) error
}

// Lister is a Store that can list every live record it holds, keyed by
// store key. It is meant for administration (finding the sessions of one
// user to revoke them), not for request paths.
type Lister interface {
	All(ctx context.Context) (map[string][]byte, error)
}

// Counter is a Store that can count its live records.
type Counter interface {
	Len(ctx context.Context) (int, error)
}
