package ginsession_test

import (
	"testing"

	"github.com/gin-gonic/gin"
	ginsession "github.com/sessionkit/sessionkit/adapters/gin"
	session "github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

func benchEngine(b *testing.B, m *session.Manager) *gin.Engine {
	e := newEngine(b)
	if m != nil {
		e.Use(ginsession.Middleware(m))
	}
	e.GET("/untouched", func(c *gin.Context) { c.Writer.WriteString("ok") })
	e.GET("/read", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return
		}
		n, _ := session.GetAs[int](sess, "n")
		c.Writer.WriteString(string(rune('0' + n%10)))
	})
	e.GET("/write", func(c *gin.Context) {
		sess, err := ginsession.Get(c)
		if err != nil {
			return
		}
		n, _ := session.GetAs[int](sess, "n")
		sess.Set("n", n+1)
		c.Writer.WriteString("ok")
	})
	return e
}

func BenchmarkBare(b *testing.B) { testenv.BenchHandler(b, benchEngine(b, nil), "/untouched", "") }

func BenchmarkUntouched(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	testenv.BenchHandler(b, benchEngine(b, m), "/untouched", "/write")
}

func BenchmarkRead(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	testenv.BenchHandler(b, benchEngine(b, m), "/read", "/write")
}

func BenchmarkWrite(b *testing.B) {
	m, _ := session.NewManager()
	defer m.Close()
	testenv.BenchHandler(b, benchEngine(b, m), "/write", "/write")
}
