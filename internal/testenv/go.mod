module github.com/sessionkit/sessionkit/internal/testenv

go 1.26

require github.com/sessionkit/sessionkit/core v0.0.0-00010101000000-000000000000
