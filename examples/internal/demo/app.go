package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
	"unicode"
	"unicode/utf8"

	session "github.com/sessionkit/sessionkit/core"
)

// App is one running demo: its configuration, its session.Manager and its
// logger. The runner builds it and hands it to the framework's build
// function; handlers use it for the page, the stream and error logging.
type App struct {
	// Framework names the demo: "nethttp", "gin", "echo" or "fiber".
	Framework string
	// Config is the parsed command line.
	Config Config
	// Manager is what the framework's session middleware is given.
	Manager *session.Manager
	// Logger is the demo's logger (the Manager logs through it too).
	Logger *slog.Logger
}

// Session keys the demo uses. Values stored through /api/values/{key}
// live under ValuePrefix+key, so they can never overwrite these.
const (
	KeyViews    = "views"       // int: how often the session was counted
	KeyUser     = "user"        // string: who logged in, "" if nobody
	KeyStreamed = "streamed_at" // string: when /api/stream last ran (RFC 3339)
	ValuePrefix = "v:"          // prefix of the /api/values keys
)

// Input limits.
const (
	MaxUserLen   = 64      // characters in a user name
	MaxKeyLen    = 64      // characters in a /api/values key
	MaxValueSize = 4 << 10 // bytes in a /api/values body
)

// Content types of the demo's responses; every framework sends exactly
// these.
const (
	ContentTypeJSON = "application/json"
	ContentTypeText = "text/plain; charset=utf-8"
	ContentTypeHTML = "text/html; charset=utf-8"
)

// State is the JSON body of /api/session, /api/peek and /api/login.
type State struct {
	Views int    `json:"views"` // how often the session was counted
	User  string `json:"user"`  // who logged in, "" if nobody
}

// ErrorBody is the JSON body of an API error (400, 404).
type ErrorBody struct {
	Error string `json:"error"` // what was wrong, for the client
}

// LogoutBody is the JSON body of /api/logout.
type LogoutBody struct {
	Destroyed bool `json:"destroyed"` // always true
}

// JSON returns the encoding of v followed by a newline, as every demo
// sends it. v must be one of the demo's body types.
func JSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("demo: cannot encode %T: %v", v, err)) // a bug: the body types always encode
	}
	return append(b, '\n')
}

// ErrorJSON returns the JSON error body for err.
func ErrorJSON(err error) []byte { return JSON(ErrorBody{Error: err.Error()}) }

// ErrNoValue is the error of GET /api/values/{key} when nothing is stored
// under key (404).
var ErrNoValue = errors.New("no value stored under this key")

// ValidateUser checks a user name from a login form: 1 to MaxUserLen
// characters of valid UTF-8, no control characters. The error is meant for
// the client.
func ValidateUser(user string) error {
	switch n := utf8.RuneCountInString(user); {
	case !utf8.ValidString(user):
		return errors.New("user must be valid UTF-8")
	case n == 0:
		return errors.New("user is required (1 to 64 characters)")
	case n > MaxUserLen:
		return errors.New("user must be at most 64 characters")
	}
	for _, r := range user {
		if unicode.IsControl(r) {
			return errors.New("user must not contain control characters")
		}
	}
	return nil
}

// ValidateKey checks a /api/values key: 1 to MaxKeyLen characters of
// A-Z, a-z, 0-9, '_' and '-'. The error is meant for the client.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return errors.New("key must be 1 to 64 characters")
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return errors.New("key may contain only A-Z, a-z, 0-9, '_' and '-'")
		}
	}
	return nil
}

// errTooLarge is the client error for a value over MaxValueSize.
var errTooLarge = fmt.Errorf("value must be at most %d bytes", MaxValueSize)

// CheckValue checks the size of a /api/values body the framework has
// already read.
func CheckValue(body []byte) error {
	if len(body) > MaxValueSize {
		return errTooLarge
	}
	return nil
}

// ReadValue reads a /api/values body from r, reading at most one byte more
// than MaxValueSize. Every error, a body too long or one that could not be
// read, is the client's (400).
func ReadValue(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxValueSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if err := CheckValue(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Peek returns the session's state without changing it.
func Peek(s *session.Session) State {
	n, _ := session.GetAs[int](s, KeyViews)
	u, _ := session.GetAs[string](s, KeyUser)
	return State{Views: n, User: u}
}

// CountView adds one to the session's view count and returns the new
// state. Incr merges: concurrent views all count.
func CountView(s *session.Session) State {
	st := Peek(s)
	st.Views = s.Incr(KeyViews, 1)
	return st
}

// Login logs user in: it regenerates the session ID, so an ID planted
// before the login (session fixation) is worthless after it, keeps the
// view count and records the user. user must have passed ValidateUser;
// frameworks that reuse request memory (fiber) must pass a copy.
func Login(s *session.Session, user string) State {
	s.Regenerate()
	s.Set(KeyUser, user)
	return Peek(s)
}

// Logout destroys the session: its record is deleted and its cookie
// expired at commit.
func Logout(s *session.Session) { s.Destroy() }

// PutValue stores val under the /api/values key key, which must have
// passed ValidateKey. Frameworks that reuse request memory (fiber) must
// pass strings of their own: string(body) copies.
func PutValue(s *session.Session, key, val string) {
	s.Set(ValuePrefix+key, val)
}

// GetValue returns the value stored under the /api/values key key.
func GetValue(s *session.Session, key string) (string, bool) {
	return session.GetAs[string](s, ValuePrefix+key)
}

// DeleteValue removes the value stored under the /api/values key key.
func DeleteValue(s *session.Session, key string) { s.Delete(ValuePrefix + key) }

// MarkStream records in the session that /api/stream ran. It must be
// called before the stream's first byte, when the session is still
// committed with the response headers.
func MarkStream(s *session.Session) {
	s.Set(KeyStreamed, time.Now().UTC().Format(time.RFC3339))
}
