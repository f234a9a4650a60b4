package session

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrNotFound is returned by a Store for a key it does not hold (or
	// holds only past its expiry).
	ErrNotFound = errors.New("session: not found")

	// ErrConflict is returned by VersionedStore.SetVersion when the stored
	// version is not the expected one.
	ErrConflict = errors.New("session: version conflict")

	// ErrStore wraps every error a Store returned to the core, so adapters
	// and handlers can tell an outage from a bug. The store's own error is
	// wrapped too and stays reachable with errors.Is and errors.As.
	ErrStore = errors.New("session: store error")

	// ErrCorrupt wraps an error from the Codec while decoding a stored
	// record: the data under the key is not a record this Manager can read.
	ErrCorrupt = errors.New("session: corrupt record")

	// ErrLateChange is returned by Handle.Commit when the session was
	// changed after it had been committed, that is after the response
	// headers were sent. Those changes are not saved.
	ErrLateChange = errors.New("session: changed after the response headers were sent; change not saved")

	// ErrNoMiddleware is returned by every adapter's accessor for a request
	// whose route the session middleware did not handle.
	ErrNoMiddleware = errors.New("session: no session middleware on this request's route")
)
