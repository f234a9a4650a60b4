package session

import (
	"context"
	"net/http"
)

// Exchange is what an adapter tells the core about one HTTP request and its
// response. It is the whole surface between sessionkit and a framework;
// nothing framework-specific passes it.
//
// Strings returned by an Exchange may be backed by memory the framework
// reuses after the request (fasthttp does this); the core copies what it
// keeps.
type Exchange interface {
	// Context returns the request's context. Store calls made for the
	// request use it, so its deadline bounds them.
	Context() context.Context

	// Cookies returns the values of every request cookie named name, in the
	// order the client sent them.
	Cookies(name string) []string

	// Header returns the first value of the named request header, or "".
	Header(name string) string

	// ClientIP returns the client's IP address as the framework determines
	// it (honouring only the proxies it is configured to trust), without a
	// port.
	ClientIP() string

	// SetCookie adds a Set-Cookie header to the response. The core calls it
	// only from Handle.Commit, before the response headers are written.
	SetCookie(c *http.Cookie)

	// SetHeader sets a response header, replacing any value it had. The
	// core calls it only from Handle.Commit, with WithTokenHeader.
	SetHeader(name, value string)
}
