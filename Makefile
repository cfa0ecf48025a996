# The README's two commands: `go run ./cmd/spillway demo` and `make test`.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2

.PHONY: test lint fmt bench build

# test runs the whole suite with the race detector. Suites that need
# PostgreSQL, Redis or Chromium find them on the development machines'
# addresses, or where SPILLWAY_TEST_POSTGRES / SPILLWAY_TEST_REDIS /
# SPILLWAY_CHROMIUM say (internal/testenv); the report first prints one
# line for each that is missing, since go test shows skips only with -v.
test:
	@$(GO) run ./internal/testenv/report
	$(GO) test -race -count=1 ./...

# lint is what CI checks besides the tests.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

build:
	$(GO) build -o spillway ./cmd/spillway

# bench runs the Go benchmarks of the hot path, then the end-to-end bench.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/gateway ./internal/router
	./spillway bench
