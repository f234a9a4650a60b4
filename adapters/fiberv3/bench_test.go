package fiberv3session_test

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v3"
	fiberv3session "github.com/sessionkit/sessionkit/adapters/fiberv3"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/valyala/fasthttp"
)

// benchRoutes mounts the benchmark's handlers: untouched, read (an int from
// the session) and write (increment it).
func benchRoutes(app *fiber.App) {
	app.Get("/untouched", func(c fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/read", func(c fiber.Ctx) error {
		sess, err := fiberv3session.Get(c)
		if err != nil {
			return err
		}
		if n, _ := session.GetAs[int](sess, "n"); n < 1 {
			return c.Status(fiber.StatusNotFound).SendString("missing")
		}
		return c.SendString("ok")
	})
	app.Get("/write", func(c fiber.Ctx) error {
		sess, err := fiberv3session.Get(c)
		if err != nil {
			return err
		}
		n, _ := session.GetAs[int](sess, "n")
		sess.Set("n", n+1)
		return c.SendString("ok")
	})
}

// benchConn serves raw HTTP requests to a fasthttp handler on one reused
// RequestCtx, parsing the request bytes every time as a server would, and
// dropping the request's values afterwards as fasthttp does.
type benchConn struct {
	h   fasthttp.RequestHandler
	ctx fasthttp.RequestCtx
	rd  bytes.Reader
	br  *bufio.Reader
}

func newBenchConn(h fasthttp.RequestHandler) *benchConn {
	bc := &benchConn{h: h}
	bc.br = bufio.NewReaderSize(&bc.rd, 4096)
	bc.ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}, nil)
	return bc
}

func (bc *benchConn) serve(tb testing.TB, raw []byte) {
	bc.ctx.Request.Reset()
	bc.ctx.Response.Reset()
	bc.rd.Reset(raw)
	bc.br.Reset(&bc.rd)
	if err := bc.ctx.Request.Read(bc.br); err != nil {
		tb.Fatal(err)
	}
	bc.h(&bc.ctx)
	bc.ctx.ResetUserValues()
	if code := bc.ctx.Response.StatusCode(); code != fiber.StatusOK {
		tb.Fatalf("status %d", code)
	}
}

// BenchmarkFiberV3 measures a request through the real router: without the
// middleware (bare), with it but not touching the session (untouched),
// reading an int from an existing session (read) and incrementing it
// (write). The session lives in a MemoryStore.
func BenchmarkFiberV3(b *testing.B) {
	m, err := session.NewManager()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	bare := fiber.New()
	benchRoutes(bare)
	app := fiber.New()
	app.Use(fiberv3session.Middleware(m))
	benchRoutes(app)

	request := func(path, cookie string) []byte {
		raw := "GET " + path + " HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench\r\n"
		if cookie != "" {
			raw += "Cookie: " + cookie + "\r\n"
		}
		return []byte(raw + "\r\n")
	}
	// A session holding n, for the client the benchmark requests come from.
	setup := newBenchConn(app.Handler())
	setup.serve(b, request("/write", ""))
	ck, err := http.ParseSetCookie(string(setup.ctx.Response.Header.Peek(fiber.HeaderSetCookie)))
	if err != nil {
		b.Fatal(err)
	}
	cookie := ck.Name + "=" + ck.Value

	for _, bc := range []struct {
		name, path string
		app        *fiber.App
	}{
		{"bare", "/untouched", bare},
		{"untouched", "/untouched", app},
		{"read", "/read", app},
		{"write", "/write", app},
	} {
		b.Run(bc.name, func(b *testing.B) {
			conn := newBenchConn(bc.app.Handler())
			raw := request(bc.path, cookie)
			b.ReportAllocs()
			for b.Loop() {
				conn.serve(b, raw)
			}
		})
	}
}
