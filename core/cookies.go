package session

import (
	"net/http"
	"strings"
)

// CookieValues returns the values of every cookie named name in the Cookie
// lines of a request header h, in order, for adapters over net/http-shaped
// requests. It follows the parsing rules of net/http (one pair of
// surrounding double quotes is removed, pairs are separated by ";") but
// allocates only the returned slice: values are substrings of the header.
// Values with characters net/http would reject are returned as they are;
// the Manager rejects anything that is not a well-formed session ID anyway.
func CookieValues(h http.Header, name string) []string {
	return AppendCookieValues(nil, h, name)
}

// AppendCookieValues is CookieValues appending to dst, so that an adapter
// can pass a small buffer in its per-request state and allocate nothing.
func AppendCookieValues(dst []string, h http.Header, name string) []string {
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.TrimSpace(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			dst = append(dst, v)
		}
	}
	return dst
}
