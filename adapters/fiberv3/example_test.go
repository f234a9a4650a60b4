package fiberv3session_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"

	"github.com/gofiber/fiber/v3"
	fiberv3session "github.com/sessionkit/sessionkit/adapters/fiberv3"
	session "github.com/sessionkit/sessionkit/core"
)

// A visit counter kept in the session.
func Example() {
	// Secure cookies are the default; this example talks plain HTTP.
	m, err := session.NewManager(session.WithCookieSecure(false))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	app := fiber.New()
	app.Use(fiberv3session.Middleware(m))
	app.Get("/visit", func(c fiber.Ctx) error {
		sess, err := fiberv3session.Get(c)
		if err != nil {
			return err
		}
		n, _ := session.GetAs[int](sess, "visits")
		sess.Set("visits", n+1)
		return c.SendString("visit " + strconv.Itoa(n+1))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	defer app.Shutdown()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for range 3 {
		resp, err := client.Get("http://" + ln.Addr().String() + "/visit")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}
