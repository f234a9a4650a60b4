package session

import (
	"crypto/rand"
	"encoding/base64"
)

// IDLength is the length in characters of a session ID as it appears in a
// cookie: 32 random bytes in unpadded base64url.
const IDLength = 43

// newID returns a fresh 256-bit session ID from crypto/rand.
func newID() string {
	var b [32]byte
	rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead
	var out [IDLength]byte
	base64.RawURLEncoding.Encode(out[:], b[:]) // EncodeToString would allocate twice
	return string(out[:])
}

// ValidID reports whether s has the exact shape of a session ID made by this
// package: 43 characters of the base64url alphabet, canonically encoded. It
// makes no store call and runs in constant time for inputs of the right
// length, so a cookie of the wrong length or alphabet is rejected before any
// lookup.
func ValidID(s string) bool {
	if len(s) != IDLength {
		return false
	}
	bad := 0
	for i := 0; i < len(s); i++ {
		bad |= int(invalidB64[s[i]])
	}
	// 43 characters carry 258 bits; the last character's two low bits must
	// be zero for the encoding to be canonical.
	bad |= int(b64Value[s[IDLength-1]] & 3)
	return bad == 0
}

var (
	invalidB64 [256]byte
	b64Value   [256]byte
)

func init() {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range invalidB64 {
		invalidB64[i] = 1
	}
	for i := 0; i < len(alphabet); i++ {
		invalidB64[alphabet[i]] = 0
		b64Value[alphabet[i]] = byte(i)
	}
}
