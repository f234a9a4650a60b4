package main

// framework is what the report needs to know about a framework beyond its
// rows: the name its users know it by, and its anchors.
type framework struct {
	// title names the framework in the report.
	title string
	// anchor is the in-memory (or cookie) subject the targets compare
	// sessionkit.mem with, redisAnchor the Redis one sessionkit.redis is
	// compared with: the established session library on that framework.
	anchor, redisAnchor string
}

// frameworks is the table to extend when bench/ gains a framework. The
// frameworks themselves are found in the data (the first part of
// BenchmarkSessions/<framework>/<subject>/<scenario>/<mode>), so a
// framework missing here still gets its tables; it only lacks a title and
// the targets that compare with an anchor, and the report says so.
//
// The anchors are the libraries issue 14 measured against: on gin and echo
// the cookie store of the contrib package, elsewhere the library's own
// in-memory store. The module proxy serves no echo-contrib for echo v5, so
// echo v5's anchor is gorilla/sessions used directly, the store
// echo-contrib wraps; fiber v3's is its own middleware/session, as fiber
// v2's (issue 12).
var frameworks = map[string]framework{
	"nethttp": {title: "net/http", anchor: "scs.mem", redisAnchor: "scs.redis"},
	"gin":     {title: "gin", anchor: "gin-contrib.cookie", redisAnchor: "gin-contrib.redis"},
	"echo":    {title: "echo", anchor: "echo-contrib.cookie", redisAnchor: "echo-contrib.redis"},
	"fiber":   {title: "fiber", anchor: "fiber-session.mem", redisAnchor: "fiber-session.redis"},
	"echov5":  {title: "echo v5", anchor: "gorilla.cookie", redisAnchor: "gorilla.redis"},
	"fiberv3": {title: "fiber v3", anchor: "fiber-session.mem", redisAnchor: "fiber-session.redis"},
}

// title names fw as its users do.
func title(fw string) string {
	if f, ok := frameworks[fw]; ok && f.title != "" {
		return f.title
	}
	return fw
}
