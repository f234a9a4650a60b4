// Command nethttp is the sessionkit demo app on plain net/http
// (http.ServeMux with Go 1.22 patterns and the httpsession middleware).
//
//	go run ./examples/nethttp [-addr 127.0.0.1:8080] [-store memory|redis://...|postgres://...]
//
// Everything but the routes lives in examples/internal/demo; see its
// documentation for the routes and flags.
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
	mux.HandleFunc("GET /api/session", h.countView)
	mux.HandleFunc("GET /api/peek", h.peek)
	mux.HandleFunc("POST /api/login", h.login)
	mux.HandleFunc("POST /api/logout", h.logout)
	mux.HandleFunc("PUT /api/values/{key}", h.putValue)
	mux.HandleFunc("GET /api/values/{key}", h.getValue)
	mux.HandleFunc("DELETE /api/values/{key}", h.deleteValue)
	mux.HandleFunc("GET /api/stream", h.stream)
	mux.HandleFunc("GET /healthz", healthz)
	handler := httpsession.Middleware(app.Manager)(mux)
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

// session returns the request's session. When the store fails it answers
// 500 without detail (net/http's error path is http.Error), logs the
// error, and reports false.
func (h handlers) session(w http.ResponseWriter, r *http.Request) (*session.Session, bool) {
	s, err := httpsession.Get(r)
	if err != nil {
		h.app.LogError(r.Method, r.URL.Path, err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return nil, false
	}
	return s, true
}

func write(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	write(w, status, demo.ContentTypeJSON, demo.JSON(v))
}

func (h handlers) page(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	page, err := h.app.Page(demo.CountView(s))
	if err != nil {
		h.app.LogError(r.Method, r.URL.Path, err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	write(w, http.StatusOK, demo.ContentTypeHTML, page)
}

func (h handlers) formLogin(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user")
	if err := demo.ValidateUser(user); err != nil {
		write(w, http.StatusBadRequest, demo.ContentTypeText, []byte(err.Error()+"\n"))
		return
	}
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	demo.Login(s, user)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h handlers) formLogout(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	demo.Logout(s)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h handlers) countView(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(w, r); ok {
		writeJSON(w, http.StatusOK, demo.CountView(s))
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
		writeJSON(w, http.StatusBadRequest, demo.ErrorBody{Error: err.Error()})
		return
	}
	if s, ok := h.session(w, r); ok {
		writeJSON(w, http.StatusOK, demo.Login(s, user))
	}
}

func (h handlers) logout(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.session(w, r); ok {
		demo.Logout(s)
		writeJSON(w, http.StatusOK, demo.LogoutBody{Destroyed: true})
	}
}

// key returns the validated {key} of a /api/values route, or answers 400
// and reports false.
func key(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.PathValue("key")
	if err := demo.ValidateKey(k); err != nil {
		writeJSON(w, http.StatusBadRequest, demo.ErrorBody{Error: err.Error()})
		return "", false
	}
	return k, true
}

func (h handlers) putValue(w http.ResponseWriter, r *http.Request) {
	k, ok := key(w, r)
	if !ok {
		return
	}
	val, err := demo.ReadValue(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, demo.ErrorBody{Error: err.Error()})
		return
	}
	if s, ok := h.session(w, r); ok {
		demo.PutValue(s, k, string(val))
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
	val, found := demo.GetValue(s, k)
	if !found {
		writeJSON(w, http.StatusNotFound, demo.ErrorBody{Error: demo.ErrNoValue.Error()})
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
		demo.DeleteValue(s, k)
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
	demo.MarkStream(s)
	w.Header().Set("Content-Type", demo.ContentTypeText)
	w.Header().Set("X-Content-Type-Options", "nosniff") // browsers render the lines as they come
	rc := http.NewResponseController(w)
	// An error means the client left; the response is already under way.
	_ = h.app.Stream(r.Context(), w, rc.Flush)
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	write(w, http.StatusOK, demo.ContentTypeText, []byte("ok\n"))
}
