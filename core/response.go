package session

import (
	"io"
	"net/http"
)

// The error response. When the store fails just as a response's headers
// are about to go out, the session cannot be saved and the handler's
// response, which may assume it was (a login's welcome page), must not
// reach the client. Every adapter answers with the same response instead:
// ErrorStatus and ErrorBody as plain text, none of the handler's body or
// of the headers that describe that body or let a cache keep the response,
// and Cache-Control: no-store, so that no CDN or browser cache serves the
// error in place of the page. Third-party adapters use the functions below
// to answer the same way.

// ErrorStatus is the status code of the error response.
const ErrorStatus = http.StatusInternalServerError

// ErrorBody is the body of the error response: the status text, without
// detail.
const ErrorBody = "Internal Server Error\n"

// handlerHeaders are the response headers a handler may have set that
// describe its body or let a cache keep the response.
var handlerHeaders = [...]string{
	"Cache-Control", "Cdn-Cache-Control", "Surrogate-Control", "Expires", "Age", "Etag", "Last-Modified",
	"Content-Length", "Content-Type", "Content-Encoding", "Content-Range", "Content-Disposition",
	"Content-Language", "Content-Location", "Content-Digest", "Repr-Digest", "Accept-Ranges",
}

// ResetErrorHeader turns the handler's response headers into those of the
// error response, through the adapter's own header functions so that
// adapters over any header type (fasthttp's too) can use it: del removes a
// header, set sets one. It removes every header of the handler that
// describes its body or lets a cache keep the response, Content-Encoding
// included, and sets Content-Type: text/plain; charset=utf-8,
// X-Content-Type-Options: nosniff and Cache-Control: no-store. Other
// headers, such as the handler's own cookies, are left alone.
func ResetErrorHeader(del func(name string), set func(name, value string)) {
	for _, k := range handlerHeaders {
		del(k)
	}
	set("Content-Type", "text/plain; charset=utf-8")
	set("X-Content-Type-Options", "nosniff")
	set("Cache-Control", "no-store")
}

// ErrorHeader is ResetErrorHeader for a net/http header h. keepEncoding
// says whether h already held a Content-Encoding when the session
// middleware was entered, before the handler ran: a middleware outside it
// that encodes whatever passes through (gzip middleware that sets the
// header up front) will encode the error body too, so the header stays;
// one the handler set describes the body that is dropped, so it goes.
func ErrorHeader(h http.Header, keepEncoding bool) {
	enc := h["Content-Encoding"]
	ResetErrorHeader(h.Del, h.Set)
	if keepEncoding && len(enc) > 0 {
		h["Content-Encoding"] = enc
	}
}

// WriteError answers w, whose headers must not have been written yet, with
// the error response; see ErrorHeader for keepEncoding.
func WriteError(w http.ResponseWriter, keepEncoding bool) {
	ErrorHeader(w.Header(), keepEncoding)
	w.WriteHeader(ErrorStatus)
	_, _ = io.WriteString(w, ErrorBody)
}
