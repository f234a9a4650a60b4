package demo

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"time"
)

// pageTemplate is the demo's only HTML page. html/template escapes the
// user name (and everything else) for its context.
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
<p>Views in this session: <b id="views">{{.Views}}</b></p>
{{if .User}}<p>Logged in as <b id="user">{{.User}}</b>.</p>
{{else}}<p>Not logged in.</p>
{{end}}<form method="post" action="/login">
<label>User <input name="user" required maxlength="64"></label>
<button type="submit">Log in</button>
</form>
<form method="post" action="/logout">
<button type="submit">Log out</button>
</form>
<p>JSON API: <a href="/api/session">/api/session</a>, <a href="/api/peek">/api/peek</a>,
<a href="/api/stream">/api/stream</a>; POST /api/login, POST /api/logout,
PUT/GET/DELETE /api/values/{key}.</p>
</body>
</html>
`))

// Page renders the HTML page of GET / for the state st. Every GET / counts
// a view: handlers call CountView and render its result.
func (a *App) Page(st State) ([]byte, error) {
	var b bytes.Buffer
	err := pageTemplate.Execute(&b, struct {
		State
		Framework, Store string
	}{st, a.Framework, StoreName(a.Config.Store)})
	if err != nil {
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
