module github.com/sessionkit/sessionkit/loadtest

go 1.26.0

require github.com/sessionkit/sessionkit/core v0.0.0-00010101000000-000000000000

replace github.com/sessionkit/sessionkit/core => ../core
