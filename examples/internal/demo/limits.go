package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Request body limits, in bytes. Every route takes at most what it needs;
// the demos refuse a bigger body before any session is loaded, having read
// at most the limit of it, so nothing is ever spooled to disk.
const (
	// MaxFormSize bounds the body of POST /login and /api/login: one field
	// of at most 64 characters, urlencoded (up to 12 bytes a character)
	// or multipart (a few hundred bytes of framing), with room to spare.
	MaxFormSize = 2 << 10
	// MaxFlashForm bounds the body of POST /api/flash: a message of at
	// most 256 characters, urlencoded (up to 12 bytes a character).
	MaxFlashForm = 4 << 10
	// MaxBodySize is the largest body any route takes (a /api/values
	// value): fiber's Config.BodyLimit, which fasthttp applies to every
	// route before routing.
	MaxBodySize = MaxValueSize
)

// BodyLimit returns how many request body bytes the route of method and
// path takes: MaxFormSize for the login and revoke forms, MaxFlashForm for
// POST /api/flash, MaxValueSize for a /api/values PUT, MaxThemeSize for
// the theme, and none for every other route (GET and DELETE requests, the
// logout and rotate routes, whose forms are empty, and unknown paths).
func BodyLimit(method, path string) int64 {
	switch {
	case method == http.MethodPost && (path == "/login" || path == "/api/login" || path == "/revoke"):
		return MaxFormSize
	case method == http.MethodPost && path == "/api/flash":
		return MaxFlashForm
	case method == http.MethodPut && strings.HasPrefix(path, "/api/values/"):
		return MaxValueSize
	case method == http.MethodPut && path == "/api/prefs/theme":
		return MaxThemeSize
	}
	return 0
}

// A Refusal is the answer to a request that a demo turns away before it
// reaches a route: a body over the route's limit (400), an encoded body
// (415) or a cross-origin write (403). Every framework answers it alike,
// as its routes answer client errors: {"error":"..."} under /api/, a plain
// text line on the other routes.
type Refusal struct {
	Status int   // the status code
	Err    error // what was wrong, for the client
}

// Error returns the message for the client.
func (r *Refusal) Error() string { return r.Err.Error() }

// Response returns the content type and body of the refusal of a request
// to path.
func (r *Refusal) Response(path string) (contentType string, body []byte) {
	if strings.HasPrefix(path, "/api/") {
		return ContentTypeJSON, ErrorJSON(r.Err)
	}
	return ContentTypeText, []byte(r.Err.Error() + "\n")
}

// ServeHTTP answers the refusal of req on w.
func (r *Refusal) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ct, body := r.Response(req.URL.Path)
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(r.Status)
	w.Write(body)
}

// BodyTooLarge is the refusal of a body over a limit when the route is
// not known: fasthttp forgets the request whose chunked body it refuses.
var BodyTooLarge = &Refusal{Status: http.StatusBadRequest, Err: errors.New("request body too large")}

// TooLarge returns the refusal of a body over the limit of the route of
// method and path.
func TooLarge(method, path string) *Refusal {
	err := errors.New("this route takes no request body")
	if limit := BodyLimit(method, path); limit > 0 {
		err = fmt.Errorf("request body must be at most %d bytes", limit)
	}
	return &Refusal{Status: http.StatusBadRequest, Err: err}
}

// errEncoded is the client error for a compressed request body.
var errEncoded = errors.New("request bodies must not be encoded (Content-Encoding)")

// CheckBody returns the refusal of a request body of size bytes with the
// Content-Encoding header enc to the route of method and path, or nil if
// the route takes it; size -1 stands for a length not known until the body
// is read (chunked), which passes. A body over the limit is refused first
// (400), then an encoded one (415): no route takes a compressed body, as a
// few KiB of nested gzip can inflate to gigabytes (fiber's c.Body() would
// inflate them).
func CheckBody(method, path, enc string, size int64) *Refusal {
	if size > BodyLimit(method, path) {
		return TooLarge(method, path)
	}
	if size > 0 && enc != "" && !strings.EqualFold(enc, "identity") {
		return &Refusal{Status: http.StatusUnsupportedMediaType, Err: errEncoded}
	}
	return nil
}

// LimitBodies applies the demos' body limits (BodyLimit) to every request
// before h sees it, for the servers built on net/http (net/http, gin,
// echo; fiber sets Config.BodyLimit and calls CheckBody). A body declared
// (Content-Length) over the limit is refused without reading a byte of it;
// one of unknown length is read through http.MaxBytesReader, which stops
// one byte past the limit. A body within the limit is read into memory and
// handed to h, so h's form parsing can never fail halfway or spool to disk.
//
// After refusing, net/http closes the connection; it may first read up to
// 256 KiB more of a chunked body, so that the client gets the answer
// instead of a reset.
func LimitBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc := r.Header.Get("Content-Encoding")
		if refusal := CheckBody(r.Method, r.URL.Path, enc, r.ContentLength); refusal != nil {
			// The rest of the body is never read: the connection cannot
			// carry another request.
			w.Header().Set("Connection", "close")
			refusal.ServeHTTP(w, r)
			return
		}
		if r.ContentLength != 0 {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, BodyLimit(r.Method, r.URL.Path)))
			var refusal *Refusal
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				refusal = TooLarge(r.Method, r.URL.Path)
			} else if err != nil {
				// A client that left or stalled past the read timeout.
				refusal = &Refusal{Status: http.StatusBadRequest, Err: errors.New("could not read the request body")}
			} else {
				refusal = CheckBody(r.Method, r.URL.Path, enc, int64(len(body)))
			}
			if refusal != nil {
				w.Header().Set("Connection", "close")
				refusal.ServeHTTP(w, r)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		h.ServeHTTP(w, r)
	})
}
