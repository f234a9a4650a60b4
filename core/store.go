package session

import (
	"context"
	"time"
)

// Store keeps encoded session records under fingerprint keys: the Connect
// store contract with contexts and errors. A Manager calls exactly these
// methods; implementations must be safe for concurrent use.
type Store interface {
	// Get returns the record stored under key. It returns ErrNotFound when
	// there is none or it has expired. The returned slice is the caller's
	// to read for as long as it likes: neither side modifies it.
	Get(ctx context.Context, key string) ([]byte, error)

	// Set stores data under key until expiry, whatever is stored there; a
	// remote store should use expiry as a native TTL. Set must not keep
	// data after it returns unless it copies it.
	Set(ctx context.Context, key string, data []byte, expiry time.Time) error

	// Delete removes the record under key. Deleting a missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
}

// VersionedStore is a Store that can update a record atomically with
// compare-and-swap. A Manager uses it, when offered, so that concurrent
// requests on one session never lose each other's changes and never undo a
// logout; with a plain Store the last write wins.
type VersionedStore interface {
	Store

	// GetVersion is Get that also returns the record's version: a nonzero
	// number that changes every time the record is written and is never
	// handed out again for the same key, even after a delete.
	GetVersion(ctx context.Context, key string) (data []byte, version uint64, err error)

	// SetVersion stores data under key until expiry only if the record's
	// current version is version, where version 0 means that no live
	// record may exist under key, and returns the new version. Empty data
	// deletes the record under the same condition (the returned version is
	// then 0). When the condition does not hold it returns ErrConflict and
	// leaves the record as it was.
	SetVersion(ctx context.Context, key string, data []byte, expiry time.Time, version uint64) (uint64, error)
}

// Lister is a Store that can visit every live record. It is for
// administration, such as Manager.DestroyMatching, not for request paths.
type Lister interface {
	// Range calls fn, one call at a time, with the key, data and version (0
	// for a Store that has none) of every record that is live throughout
	// the call; records written or deleted meanwhile may be visited or
	// not, and a key may be visited twice. data is valid only during fn.
	// Range stops at fn's first error and returns it. Range must return an
	// error, never nil, when it cannot vouch that it visited every record
	// live throughout the call (a store resharded during the scan, say).
	Range(ctx context.Context, fn func(key string, data []byte, version uint64) error) error
}

// OwnerIndex is a Store that indexes sessions by owner (Session.SetOwner),
// so that a user's sessions are listed and revoked in time proportional to
// their number, not to the store's size. Manager.Sessions, Revoke and
// RevokeAll need it.
type OwnerIndex interface {
	// AddOwner records that the session under key belongs to owner, until
	// expiry at least.
	AddOwner(ctx context.Context, owner, key string, expiry time.Time) error

	// Owned returns every key recorded for owner and not expired. Some may
	// name sessions that have ended since; the Manager prunes them.
	Owned(ctx context.Context, owner string) ([]string, error)

	// RemoveOwner forgets keys of owner. Forgetting what is not there is
	// not an error.
	RemoveOwner(ctx context.Context, owner string, keys ...string) error
}
