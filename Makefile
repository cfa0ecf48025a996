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

# lint is what CI checks besides the tests. vet and staticcheck load the
# packages built with -race, as test builds them, so that CI compiles each
# package once instead of twice (staticcheck itself is built without).
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -race ./...
	GOFLAGS="$$($(GO) env GOFLAGS) -race" $(GO) run -race=false honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

build:
	$(GO) build -o spillway ./cmd/spillway

# bench runs the Go benchmarks of the hot path, then the end-to-end bench.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/gateway ./internal/router
	./spillway bench

# Release builds carry their version and commit (`spillway version`).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
RELEASE_LDFLAGS = -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# image builds the container image $(IMAGE) from deploy/container/Containerfile:
# a static binary built here (CGO_ENABLED=0), the CA bundle $(CA_CERTS), a
# non-root user, FROM scratch. CONTAINER is podman when installed, else
# docker; it may carry global flags (.ci/image passes podman's).
CONTAINER ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
IMAGE ?= spillway:$(VERSION)
CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt
IMAGE_CONTEXT = build/image

# release cross-compiles static binaries into build/release, with SHA256SUMS.
RELEASE_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

.PHONY: image release
image:
	rm -rf $(IMAGE_CONTEXT)
	mkdir -p $(IMAGE_CONTEXT)/rootfs/etc/ssl/certs $(IMAGE_CONTEXT)/rootfs/tmp $(IMAGE_CONTEXT)/data
	chmod 1777 $(IMAGE_CONTEXT)/rootfs/tmp
	cp deploy/container/rootfs/etc/passwd deploy/container/rootfs/etc/group $(IMAGE_CONTEXT)/rootfs/etc/
	cp $(CA_CERTS) $(IMAGE_CONTEXT)/rootfs/etc/ssl/certs/ca-certificates.crt
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -ldflags '$(RELEASE_LDFLAGS)' -o $(IMAGE_CONTEXT)/spillway ./cmd/spillway
	$(CONTAINER) build -f deploy/container/Containerfile -t $(IMAGE) \
		--build-arg VERSION=$(VERSION) --build-arg REVISION=$(COMMIT) $(IMAGE_CONTEXT)

release:
	rm -rf build/release && mkdir -p build/release
	@set -e; for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		out=build/release/spillway-$(VERSION)-$$os-$$arch$$ext; echo "$$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(RELEASE_LDFLAGS)' -o $$out ./cmd/spillway; \
	done
	cd build/release && sha256sum spillway-* > SHA256SUMS && cat SHA256SUMS
