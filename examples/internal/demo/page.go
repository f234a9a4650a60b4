package demo

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"time"

	session "github.com/sessionkit/sessionkit/core"
)

// pageTemplate is the demo's only HTML page. html/template escapes the
// user name, the flashes and everything else for its context.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sessionkit demo ({{.Framework}})</title>
</head>
<body>
<h1>sessionkit demo</h1>
<p>Framework <b>{{.Framework}}</b>, store <b>{{.Store}}</b>.</p>
{{if .Flashes}}<ul id="flashes">
{{range .Flashes}}<li class="flash">{{.}}</li>
{{end}}</ul>
{{end}}<p>Views in this session: <b id="views">{{.Views}}</b></p>
{{if .User}}<p>Logged in as <b id="user">{{.User}}</b>.</p>
<h2>Your sessions</h2>
<table id="sessions">
<tr><th>Since</th><th>Last seen</th><th>Browser</th><th>IP</th><th></th></tr>
{{range .Sessions}}<tr class="session{{if .Current}} current{{end}}">
<td>{{.Created}}</td><td>{{.LastSeen}}</td><td>{{.UserAgent}}</td><td>{{.ClientIP}}</td>
<td>{{if .Current}}this device{{else}}<form method="post" action="/revoke"><input type="hidden" name="handle" value="{{.Handle}}"><button type="submit" class="revoke">Revoke</button></form>{{end}}</td>
</tr>
{{end}}</table>
{{else}}<p>Not logged in.</p>
{{end}}<form method="post" action="/login">
<label>User <input name="user" required maxlength="64"></label>
<label><input type="checkbox" name="remember" value="1" id="remember"> Remember me</label>
<button type="submit">Log in</button>
</form>
<form method="post" action="/logout">
<button type="submit">Log out</button>
</form>
<p>JSON API: <a href="/api/session">/api/session</a>, <a href="/api/peek">/api/peek</a>,
<a href="/api/sessions">/api/sessions</a>, <a href="/api/flashes">/api/flashes</a>,
<a href="/api/stream">/api/stream</a>, <a href="/metrics">/metrics</a>; see the README.</p>
</body>
</html>
`))

// Page renders the HTML page of GET /. It counts a view in the login
// session s, pops the flashes of s and of the preferences session prefs,
// and lists the logged-in user's sessions with a revoke button each.
func (a *App) Page(ctx context.Context, s, prefs *session.Session) ([]byte, error) {
	data := struct {
		State
		Framework, Store string
		Flashes          []string
		Sessions         []SessionJSON
	}{Framework: a.Framework, Store: StoreName(a.Config.Store)}
	// The store call that may fail comes first, so that a failure changes
	// nothing: not every adapter can stop the commit of an answered error.
	if user := s.Owner(); user != "" {
		list, err := a.Manager.Sessions(ctx, user)
		if err != nil {
			return nil, err
		}
		data.Sessions = Sessions(list, s.Handle()).Sessions
	}
	data.State = State{Views: s.Incr(KeyViews, 1), User: s.Owner()} // Incr merges: concurrent views all count
	data.Flashes = append(Flashes(s.Flashes()).Flashes, Flashes(prefs.Flashes()).Flashes...)
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("demo: rendering the page: %w", err)
	}
	return b.Bytes(), nil
}

// StreamLines is how many lines /api/stream sends.
const StreamLines = 3

// StreamLine returns line i (1-based) of /api/stream.
func StreamLine(i int) string { return fmt.Sprintf("line %d of %d\n", i, StreamLines) }

// Stream writes the body of /api/stream to w: StreamLines lines,
// Config.StreamInterval apart, calling flush after each so the client gets
// it at once. It stops early with ctx's error when ctx is done (the client
// went away) and with the error of a failed write or flush. The handler
// must have set the response headers and called MarkStream before.
func (a *App) Stream(ctx context.Context, w io.Writer, flush func() error) error {
	var t *time.Timer
	for i := 1; i <= StreamLines; i++ {
		if i > 1 {
			if t == nil {
				t = time.NewTimer(a.Config.StreamInterval)
				defer t.Stop()
			} else {
				t.Reset(a.Config.StreamInterval)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		if _, err := io.WriteString(w, StreamLine(i)); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}
