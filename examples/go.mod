module github.com/sessionkit/sessionkit/examples

go 1.26.0

require (
	github.com/labstack/echo/v4 v4.16.0
	github.com/sessionkit/sessionkit/adapters/echo v0.0.0-00010101000000-000000000000
	github.com/sessionkit/sessionkit/adapters/nethttp v0.0.0-00010101000000-000000000000
	github.com/sessionkit/sessionkit/core v0.0.0
	github.com/sessionkit/sessionkit/stores/postgres v0.0.0-00010101000000-000000000000
	github.com/sessionkit/sessionkit/stores/redis v0.0.0-00010101000000-000000000000
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.13.0 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.53.0 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace (
	github.com/sessionkit/sessionkit/adapters/echo => ../adapters/echo
	github.com/sessionkit/sessionkit/adapters/fiber => ../adapters/fiber
	github.com/sessionkit/sessionkit/adapters/gin => ../adapters/gin
	github.com/sessionkit/sessionkit/adapters/nethttp => ../adapters/nethttp
	github.com/sessionkit/sessionkit/core => ../core
	github.com/sessionkit/sessionkit/stores/postgres => ../stores/postgres
	github.com/sessionkit/sessionkit/stores/redis => ../stores/redis
)
