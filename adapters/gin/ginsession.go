package ginsession

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	session "github.com/sessionkit/sessionkit/core"
)

// Middleware returns gin middleware that gives every request a lazily
// loaded session, reached with Get, and commits it just before the
// response headers are written. Register it with Engine.Use or
// RouterGroup.Use. It panics if m is nil.
func Middleware(m *session.Manager) gin.HandlerFunc {
	if m == nil {
		panic("ginsession: Middleware with a nil Manager")
	}
	return func(c *gin.Context) {
		req, w := c.Request, c.Writer
		st := &state{c: c, req: req, parent: req.Context()}
		st.w.ResponseWriter, st.w.st = w, st
		st.w.keepEncoding = len(w.Header()["Content-Encoding"]) > 0 // an outer middleware's: see session.ErrorHeader
		st.Init(m, st)
		c.Request, c.Writer = req.WithContext(st), &st.w
		// Restored on the way out, also on a panic: what the recovery
		// middleware writes then must not commit the session.
		defer func() { c.Request, c.Writer = req, w }()
		c.Next()
		if !st.w.committed {
			st.w.commit() // nothing was written: gin sends the headers after the chain
		} else if st.w.abandoned {
			return // a recovery middleware inside this one answered a panic
		} else {
			if err := st.Commit(); err != nil {
				_ = c.Error(err) // a change made too late; the core logs it too
			}
			if session.ResponseLost(st.parent, w) {
				_ = st.Abandon() // an outer http.TimeoutHandler answered instead
			}
		}
	}
}

// Get returns the session of a request served through Middleware, loading
// it on the first call. On an error it records the error with c.Error,
// aborts the chain with a plain 500 "Internal Server Error" (no detail)
// and returns the error: it wraps session.ErrStore or session.ErrCorrupt
// when the session could not be loaded, and is session.ErrNoMiddleware when the
// route does not use Middleware.
//
// Get also works on a context made by c.Copy, for as long as the request
// lasts.
func Get(c *gin.Context) (*session.Session, error) {
	st := lookup(c)
	if st == nil {
		fail(c, c.Writer, session.ErrNoMiddleware, false)
		return nil, session.ErrNoMiddleware
	}
	s, err := st.Session()
	if err != nil {
		fail(c, c.Writer, err, st.w.keepEncoding)
		return nil, err
	}
	return s, nil
}

// lookup finds the request's state: in c.Writer, or in the request
// context when a later middleware wrapped c.Writer or c is a copy.
func lookup(c *gin.Context) *state {
	if w, ok := c.Writer.(*responseWriter); ok {
		return w.st
	}
	if c.Request != nil {
		if st, ok := c.Request.Context().Value(ctxKey{}).(*state); ok {
			return st
		}
	}
	return nil
}

// fail takes gin's error path: the error goes to c.Errors, the chain stops
// and the client gets the error response of package session (a plain 500
// without detail, the handler's body or its caching headers), written to w
// unless the response is under way or w is the detached writer of a
// c.Copy. keepEncoding is as for session.ErrorHeader.
func fail(c *gin.Context, w gin.ResponseWriter, err error, keepEncoding bool) {
	_ = c.Error(err)
	c.Abort()
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok && u.Unwrap() == nil {
		return
	}
	if !w.Written() {
		session.WriteError(w, keepEncoding)
	}
}

// ctxKey finds a request's state in its context.
type ctxKey struct{}

// state is everything one request needs, in one allocation: the session
// Handle, the Exchange the core reads, the ResponseWriter wrapper and the
// context node of c.Request.
type state struct {
	session.Handle
	c      *gin.Context
	req    *http.Request
	parent context.Context
	w      responseWriter
}

// Deadline implements context.Context.
func (s *state) Deadline() (time.Time, bool) { return s.parent.Deadline() }

// Done implements context.Context.
func (s *state) Done() <-chan struct{} { return s.parent.Done() }

// Err implements context.Context.
func (s *state) Err() error { return s.parent.Err() }

// Value implements context.Context.
func (s *state) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return s
	}
	return s.parent.Value(key)
}

// Context implements session.Exchange.
func (s *state) Context() context.Context { return s.parent }

// Cookies implements session.Exchange.
func (s *state) Cookies(name string) []string {
	return session.CookieValues(s.req.Header, name)
}

// Header implements session.Exchange.
func (s *state) Header(name string) string { return s.req.Header.Get(name) }

// ClientIP implements session.Exchange with gin's trusted-proxy logic, in
// the form of session.CanonicalIP. gin gives "" for an address net.ParseIP
// cannot read, such as an IPv6 address with a zone (fe80::1%eth0): that
// client gets the connection's address, which it cannot forge, rather than
// an IP it would share with every other such client.
func (s *state) ClientIP() string {
	if ip := s.c.ClientIP(); ip != "" {
		return session.CanonicalIP(ip)
	}
	return session.RemoteIP(s.req.RemoteAddr)
}

// SetCookie implements session.Exchange.
func (s *state) SetCookie(c *http.Cookie) { http.SetCookie(s.w.ResponseWriter, c) }

// SetHeader implements session.Exchange.
func (s *state) SetHeader(name, value string) { s.w.ResponseWriter.Header().Set(name, value) }

// responseWriter commits the session the first time gin is about to send
// the response headers, and otherwise passes everything through: the body
// is never buffered. gin's WriteHeader only records the status, so it does
// not commit.
type responseWriter struct {
	gin.ResponseWriter
	st           *state
	keepEncoding bool // Content-Encoding was set before the handler ran
	committed    bool
	abandoned    bool  // a recovery middleware answered a panic: nothing was committed
	err          error // the commit failed: the error response went out instead
}

// commit commits the session before the headers are sent and reports
// whether the handler's output may go on. A 5xx sent while a panic unwinds
// is gin.Recovery (or another recovery middleware) inside this one
// answering: the panicking handler's changes are not committed.
func (w *responseWriter) commit() bool {
	if !w.committed {
		w.committed = true
		if w.Status() >= 500 && session.Panicking() {
			w.abandoned = true
			return true
		}
		if err := w.st.Commit(); err != nil {
			w.err = fmt.Errorf("ginsession: response replaced by an error, the session could not be saved: %w", err)
			fail(w.st.c, w.ResponseWriter, err, w.keepEncoding)
		}
	}
	return w.err == nil
}

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if w.err == nil {
		w.ResponseWriter.WriteHeader(code)
	}
}

// WriteHeaderNow implements gin.ResponseWriter.
func (w *responseWriter) WriteHeaderNow() {
	if w.commit() {
		w.ResponseWriter.WriteHeaderNow()
	}
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.commit() {
		return 0, w.err
	}
	return w.ResponseWriter.Write(p)
}

// WriteString implements gin.ResponseWriter.
func (w *responseWriter) WriteString(s string) (int, error) {
	if !w.commit() {
		return 0, w.err
	}
	return w.ResponseWriter.WriteString(s)
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if w.commit() {
		w.ResponseWriter.Flush()
	}
}

// Hijack implements http.Hijacker. The session is committed first; its
// Set-Cookie is left in Header for the new owner of the connection to send.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, w.err
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
