module github.com/sessionkit/sessionkit/adapters/nethttp

go 1.26

require github.com/sessionkit/sessionkit/core v0.0.0-00010101000000-000000000000

replace github.com/sessionkit/sessionkit/core => ../../core
