// Command nethttp is the sessionkit demo app on plain net/http
// (http.ServeMux with Go 1.22 patterns and the httpsession middleware).
//
//	go run ./examples/nethttp [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...|sqlite:PATH]
//
// The handlers below show every session call; examples/internal/demo holds
// what is not about sessions (flags, stores, validation, JSON shapes, the
// page) and documents the routes.
package main

import (
	"net/http"

	httpsession "github.com/sessionkit/sessionkit/adapters/nethttp"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

func main() { demo.Main("nethttp", newServer) }

// newServer mounts the demo's routes on a ServeMux behind the session
// middleware. The client IP in the session fingerprint is the host of
// RemoteAddr (the middleware's default), which no header can change.
// app.HTTPServer sets the read, write and idle timeouts.
func newServer(app *demo.App) (demo.Server, error) {
	h := handlers{app}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("POST /login", h.formLogin)
	mux.HandleFunc("POST /logout", h.formLogout)
	mux.HandleFunc("POST /revoke", h.formRevoke)
	mux.HandleFunc("GET /api/session", h.countView)
	mux.HandleFunc("GET /api/peek", h.peek)
	mux.HandleFunc("POST /api/login", h.login)
	mux.HandleFunc("POST /api/logout", h.logout)
	mux.HandleFunc("PUT /api/values/{key}", h.putValue)
	mux.HandleFunc("GET /api/values/{key}", h.getValue)
	mux.HandleFunc("DELETE /api/values/{key}", h.deleteValue)
	mux.HandleFunc("GET /api/stream", h.stream)
	mux.HandleFunc("GET /api/sessions", h.sessions)
	mux.HandleFunc("DELETE /api/sessions/{handle}", h.revoke)
	mux.HandleFunc("POST /api/logout-everywhere", h.logoutEverywhere)
	mux.HandleFunc("POST /api/rotate", h.rotate)
	mux.HandleFunc("POST /api/flash", h.addFlash)
	mux.HandleFunc("GET /api/flashes", h.flashes)
	mux.HandleFunc("PUT /api/prefs/theme", h.putTheme)
	mux.HandleFunc("GET /api/prefs/theme", h.getTheme)
	mux.Handle("GET /metrics", app.Metrics)
	mux.HandleFunc("GET /healthz", healthz)
	// Two sessions on every route: the login session (app.Manager, reached
	// with httpsession.Get) and the preferences session (app.Prefs, reached
	// with httpsession.GetFor). Each loads only when a handler asks for it.
	handler := httpsession.Middleware(app.Prefs)(httpsession.Middleware(app.Manager)(mux))
	// Guards outside the session middleware, so that a request they refuse
	// never loads a session. Go's http.CrossOriginProtection refuses a
	// write that a browser sent from another origin (CSRF), 403.
	handler = demo.CrossOriginProtection().Handler(handler)
	// demo.LimitBodies (http.MaxBytesReader) refuses a body over its
	// route's limit, 2 KiB for a login form, having read no further.
	handler = demo.LimitBodies(handler)
	return app.HTTPServer(handler), nil
}

type handlers struct{ app *demo.App }

// session returns the request's login session. When the store fails,
// httpsession.Error logs the error and answers 500 without detail, and
// session reports false.
func (h handlers) session(w http.ResponseWriter, r *http.Request) (*session.Session, bool) {
	s, err := httpsession.Get(r)
	if err != nil {
		httpsession.Error(w, r, err)
		return nil, false
	}
	return s, true
}

// prefs returns the request's preferences session, as session does.
func (h handlers) prefs(w http.ResponseWriter, r *http.Request) (*session.Session, bool) {
	s, err := httpsession.GetFor(r, h.app.Prefs)
	if err != nil {
		httpsession.Error(w, r, err)
		return nil, false
	}
	return s, true
}

// fail answers a store error of a Manager call (Sessions, Revoke,
// RevokeAll) as the middleware answers a failed load.
func (h handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpsession.Error(w, r, err)
}

func write(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	write(w, status, demo.ContentTypeJSON, demo.JSON(v))
}

func writeError(w http.ResponseWriter, status int, err error) {
	write(w, status, demo.ContentTypeJSON, demo.ErrorJSON(err))
}

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	p, ok := h.prefs(w, r)
	if !ok {
		return
	}
	page, err := h.app.Page(r.Context(), s, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	write(w, http.StatusOK, demo.ContentTypeHTML, page)
}

// logIn is the login of both login routes.
func logIn(s *session.Session, user string, remember bool) {
	s.Regenerate()            // a new ID at every privilege change: a planted ID is worthless
	s.Set(demo.KeyUser, user) // a string always encodes: no error to check
	s.SetOwner(user)          // lists the session under Manager.Sessions(user)
	s.SetPersistent(remember) // remember me: a cookie that outlives the browser
	s.AddFlash(demo.Welcome(user))
}

func (h handlers) formLogin(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user") // the form body only, not the query string
	if err := demo.ValidateUser(user); err != nil {
		write(w, http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
		return
	}
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	logIn(s, user, demo.ParseRemember(r.PostFormValue("remember")))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h handlers) formLogout(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	p, ok := h.prefs(w, r)
	if !ok {
		return
	}
	if !s.IsNew() { // a logout of nothing says nothing (and sets no cookie)
		p.AddFlash(demo.LoggedOut) // the login session is gone: the note lives in prefs
	}
	s.Destroy()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h handlers) formRevoke(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	if user := s.Owner(); user != "" {
		if _, err := h.app.Manager.Revoke(r.Context(), user, r.PostFormValue("handle")); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h handlers) countView(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(w, r); ok {
		views := s.Incr(demo.KeyViews, 1) // merges: concurrent views all count
		user, _ := session.GetAs[string](s, demo.KeyUser)
		writeJSON(w, http.StatusOK, demo.State{Views: views, User: user})
	}
}

func (h handlers) peek(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(w, r); ok {
		writeJSON(w, http.StatusOK, demo.Peek(s))
	}
}

func (h handlers) login(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user")
	if err := demo.ValidateUser(user); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if s, ok := h.session(w, r); ok {
		logIn(s, user, demo.ParseRemember(r.PostFormValue("remember")))
		writeJSON(w, http.StatusOK, demo.Peek(s))
	}
}

func (h handlers) logout(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(w, r); ok {
		s.Destroy() // the record is deleted and the cookie expired at commit
		writeJSON(w, http.StatusOK, demo.LogoutBody{Destroyed: true})
	}
}

// sessions lists the logged-in user's sessions.
func (h handlers) sessions(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	user := s.Owner()
	if user == "" {
		writeError(w, http.StatusUnauthorized, demo.ErrNotLoggedIn)
		return
	}
	list, err := h.app.Manager.Sessions(r.Context(), user)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, demo.Sessions(list, s.Handle()))
}

// revoke ends one of the user's sessions by its handle.
func (h handlers) revoke(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	user := s.Owner()
	if user == "" {
		writeError(w, http.StatusUnauthorized, demo.ErrNotLoggedIn)
		return
	}
	found, err := h.app.Manager.Revoke(r.Context(), user, r.PathValue("handle"))
	switch {
	case err != nil:
		h.fail(w, r, err)
	case !found: // unknown, or another user's: Revoke checks the owner
		writeError(w, http.StatusNotFound, demo.ErrNoSession)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// logoutEverywhere ends all the user's sessions, this one included.
func (h handlers) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	user := s.Owner()
	if user == "" {
		writeError(w, http.StatusUnauthorized, demo.ErrNotLoggedIn)
		return
	}
	n, err := h.app.Manager.RevokeAll(r.Context(), user)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s.Destroy() // RevokeAll deleted its record; Destroy expires the cookie
	writeJSON(w, http.StatusOK, demo.RevokedBody{Destroyed: n})
}

// rotate gives the session a new ID without a privilege change: the old
// ID keeps resolving for -rotate-grace, so requests in flight with the
// old cookie neither fail nor overwrite the new one.
func (h handlers) rotate(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(w, r); ok {
		s.Rotate()
		writeJSON(w, http.StatusOK, demo.Peek(s))
	}
}

func (h handlers) addFlash(w http.ResponseWriter, r *http.Request) {
	msg := r.PostFormValue("msg")
	if err := demo.ValidateFlash(msg); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if s, ok := h.session(w, r); ok {
		s.AddFlash(msg) // a string always encodes: no error to check
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h handlers) flashes(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(w, r); ok {
		writeJSON(w, http.StatusOK, demo.Flashes(s.Flashes())) // popped exactly once
	}
}

func (h handlers) putTheme(w http.ResponseWriter, r *http.Request) {
	theme, err := demo.ReadTheme(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if p, ok := h.prefs(w, r); ok {
		p.Set(demo.KeyTheme, theme)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h handlers) getTheme(w http.ResponseWriter, r *http.Request) {
	p, ok := h.prefs(w, r)
	if !ok {
		return
	}
	theme, found := session.GetAs[string](p, demo.KeyTheme)
	if !found {
		writeError(w, http.StatusNotFound, demo.ErrNoTheme)
		return
	}
	write(w, http.StatusOK, demo.ContentTypeText, []byte(theme))
}

// key returns the validated {key} of a /api/values route, or answers 400
// and reports false.
func key(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.PathValue("key")
	if err := demo.ValidateKey(k); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return "", false
	}
	return demo.ValuePrefix + k, true // namespaced: never "user" or "views"
}

func (h handlers) putValue(w http.ResponseWriter, r *http.Request) {
	k, ok := key(w, r)
	if !ok {
		return
	}
	val, err := demo.ReadValue(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if s, ok := h.session(w, r); ok {
		s.Set(k, string(val))
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h handlers) getValue(w http.ResponseWriter, r *http.Request) {
	k, ok := key(w, r)
	if !ok {
		return
	}
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	val, found := session.GetAs[string](s, k)
	if !found {
		writeError(w, http.StatusNotFound, demo.ErrNoValue)
		return
	}
	write(w, http.StatusOK, demo.ContentTypeText, []byte(val))
}

func (h handlers) deleteValue(w http.ResponseWriter, r *http.Request) {
	k, ok := key(w, r)
	if !ok {
		return
	}
	if s, ok := h.session(w, r); ok {
		s.Delete(k)
		w.WriteHeader(http.StatusNoContent)
	}
}

// stream writes to the session, then streams lines. The middleware commits
// the session (and sets the cookie) when the first line's headers go out;
// http.ResponseController reaches the middleware's Flush.
func (h handlers) stream(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	s.Set(demo.KeyStreamed, demo.Now()) // before the first byte: committed with the headers
	w.Header().Set("Content-Type", demo.ContentTypeText)
	w.Header().Set("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	rc := http.NewResponseController(w)
	// An error means the client left; the response is already under way.
	_ = h.app.Stream(r.Context(), w, rc.Flush)
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	write(w, http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
}
