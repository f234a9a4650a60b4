package session

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// A Fingerprint derives the store key of a session from its ID and the
// client making the request. Records are stored under the fingerprint, never
// under the raw ID, so a leaked store holds no usable cookie, and a cookie
// presented by a client with a different fingerprint finds nothing.
//
// A Fingerprint must be deterministic and must include the ID; it should be
// a cryptographic hash. The three shipped here are SHA-256 over
// length-prefixed fields and return 43 characters of base64url.
type Fingerprint func(id string, x Exchange) string

// FingerprintIDIPUserAgent is the default Fingerprint, the seed's: a hash of
// the session ID, the client IP and the User-Agent header. A stolen cookie
// only works from the same IP with the same User-Agent. Clients whose IP
// changes (mobile networks, dual-stack hosts, load-balanced egress) lose
// their session when it does; see FingerprintIDUserAgent.
func FingerprintIDIPUserAgent(id string, x Exchange) string {
	return fingerprint(id, x.ClientIP(), x.Header("User-Agent"), 3)
}

// FingerprintIDUserAgent hashes the session ID and the User-Agent header. It
// survives IP changes, and still stops a cookie replayed by a client that
// does not also copy the User-Agent.
func FingerprintIDUserAgent(id string, x Exchange) string {
	return fingerprint(id, "", x.Header("User-Agent"), 2)
}

// FingerprintIDOnly hashes the session ID alone: the cookie is the only
// credential, as in most session libraries. The store is still keyed by a
// hash, so a leaked store leaks no cookie.
func FingerprintIDOnly(id string, _ Exchange) string {
	return fingerprint(id, "", "", 1)
}

// fingerprint hashes the fields with a domain tag and length prefixes, so
// that no two different inputs hash the same bytes. It allocates only the
// returned string for ordinary header sizes.
func fingerprint(id, ip, ua string, kind byte) string {
	var buf [320]byte
	b := append(buf[:0], "sessionkit.fp.v1"...)
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(len(ip)))
	b = append(b, ip...)
	b = binary.AppendUvarint(b, uint64(len(ua)))
	b = append(b, ua...)
	sum := sha256.Sum256(b)
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}
