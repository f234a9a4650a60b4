package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	session "github.com/sessionkit/sessionkit/core"
)

// App is one running demo: its configuration, its session.Manager and its
// logger. The runner builds it and hands it to the framework's build
// function; handlers use it for the page, the stream and error logging.
type App struct {
	// Framework names the demo: "nethttp", "gin", "echo", "echov5",
	// "fiber" or "fiberv3".
	Framework string
	// Config is the parsed command line.
	Config Config
	// Manager is the login session's: what the framework's session
	// middleware is given first. Its cookie is "sid" (or, with
	// -token-header, a request header carries the ID).
	Manager *session.Manager
	// Prefs is the preferences session's Manager: a second, persistent
	// session under the cookie "prefs" that outlives logins and logouts.
	// Handlers reach it with the adapter's GetFor.
	Prefs *session.Manager
	// Metrics serves the Managers' OpenTelemetry metrics as Prometheus
	// text, for GET /metrics.
	Metrics http.Handler
	// Logger is the demo's logger (the Manager logs through it too).
	Logger *slog.Logger

	closeMetrics func() error
}

// Session keys the demo uses. Values stored through /api/values/{key}
// live under ValuePrefix+key, so they can never overwrite these.
const (
	KeyViews    = "views"       // int: how often the session was counted
	KeyUser     = "user"        // string: who logged in, "" if nobody
	KeyStreamed = "streamed_at" // string: when /api/stream last ran (RFC 3339)
	ValuePrefix = "v:"          // prefix of the /api/values keys
	KeyTheme    = "theme"       // string, in the prefs session: PUT /api/prefs/theme
)

// PrefsCookie is the cookie name of the preferences session.
const PrefsCookie = "prefs"

// Input limits.
const (
	MaxUserLen   = 64      // characters in a user name
	MaxKeyLen    = 64      // characters in a /api/values key
	MaxValueSize = 4 << 10 // bytes in a /api/values body
	MaxFlashLen  = 256     // characters in a flash message
	MaxThemeSize = 64      // bytes in a /api/prefs/theme body
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

// RevokedBody is the JSON body of /api/logout-everywhere.
type RevokedBody struct {
	Destroyed int `json:"destroyed"` // the user's sessions ended, this one included
}

// FlashesBody is the JSON body of GET /api/flashes.
type FlashesBody struct {
	Flashes []string `json:"flashes"` // in the order added; never null
}

// SessionJSON is one of a user's sessions in GET /api/sessions.
type SessionJSON struct {
	Handle    string `json:"handle"`     // for DELETE /api/sessions/{handle}; never a cookie
	Current   bool   `json:"current"`    // the session of this request
	Created   string `json:"created"`    // RFC 3339
	LastSeen  string `json:"last_seen"`  // RFC 3339
	UserAgent string `json:"user_agent"` // of the client that logged in
	ClientIP  string `json:"client_ip"`  // of the client that logged in
}

// SessionsBody is the JSON body of GET /api/sessions.
type SessionsBody struct {
	Sessions []SessionJSON `json:"sessions"` // oldest first; never null
}

// Sessions returns the body of GET /api/sessions for the user's sessions
// that Manager.Sessions listed, marking the one whose handle is current
// (Session.Handle of the request's session).
func Sessions(list []session.SessionInfo, current string) SessionsBody {
	out := SessionsBody{Sessions: make([]SessionJSON, 0, len(list))}
	for _, si := range list {
		out.Sessions = append(out.Sessions, SessionJSON{
			Handle:    si.Handle,
			Current:   si.Handle == current,
			Created:   si.Created.UTC().Format(time.RFC3339),
			LastSeen:  si.LastSeen.UTC().Format(time.RFC3339),
			UserAgent: si.UserAgent,
			ClientIP:  si.ClientIP,
		})
	}
	return out
}

// Flashes returns the body of GET /api/flashes for the messages
// Session.Flashes popped. The demo only adds strings.
func Flashes(popped []any) FlashesBody {
	out := FlashesBody{Flashes: make([]string, 0, len(popped))}
	for _, v := range popped {
		if msg, ok := v.(string); ok {
			out.Flashes = append(out.Flashes, msg)
		}
	}
	return out
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

// ErrNotLoggedIn is the error of the routes about the user's sessions
// when the request's session has no user (401).
var ErrNotLoggedIn = errors.New("not logged in")

// ErrNoSession is the error of DELETE /api/sessions/{handle} when the
// handle is none of the user's sessions (404).
var ErrNoSession = errors.New("no such session")

// ErrNoTheme is the error of GET /api/prefs/theme when no theme is set
// (404).
var ErrNoTheme = errors.New("no theme set")

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

// ParseRemember reports whether the login form's remember field asks for
// a persistent cookie: "1", "on" (a checked checkbox) or "true".
func ParseRemember(v string) bool {
	switch strings.ToLower(v) {
	case "1", "on", "true":
		return true
	}
	return false
}

// ValidateFlash checks a flash message: 1 to MaxFlashLen characters of
// valid UTF-8. The error is meant for the client.
func ValidateFlash(msg string) error {
	switch n := utf8.RuneCountInString(msg); {
	case !utf8.ValidString(msg):
		return errors.New("msg must be valid UTF-8")
	case n == 0 || n > MaxFlashLen:
		return fmt.Errorf("msg must be 1 to %d characters", MaxFlashLen)
	}
	return nil
}

// ValidateTheme checks a /api/prefs/theme body the framework has read: at
// most MaxThemeSize bytes of valid UTF-8.
func ValidateTheme(body []byte) error {
	if len(body) > MaxThemeSize {
		return fmt.Errorf("theme must be at most %d bytes", MaxThemeSize)
	}
	if !utf8.Valid(body) {
		return errors.New("theme must be valid UTF-8")
	}
	return nil
}

// ReadTheme reads and checks a /api/prefs/theme body from r, reading at
// most one byte more than MaxThemeSize. Every error is the client's (400).
func ReadTheme(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxThemeSize+1))
	if err != nil {
		return "", fmt.Errorf("reading the body: %w", err)
	}
	if err := ValidateTheme(b); err != nil {
		return "", err
	}
	return string(b), nil
}

// Welcome is the flash a login adds; LoggedOut the one a logout from the
// page leaves in the preferences session (the login session is gone).
func Welcome(user string) string { return "Welcome, " + user + "." }

// LoggedOut is the flash the page shows after its logout button.
const LoggedOut = "You are logged out."

// Now is when /api/stream ran, as it records it in the session.
func Now() string { return time.Now().UTC().Format(time.RFC3339) }
