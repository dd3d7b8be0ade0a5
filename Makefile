# PocketIDP. `make run` brings the platform up; `make test` runs every test,
# building the real test servers (Gitea, kube-apiserver, etcd) and the e2e's
# images when missing.

GO       ?= go
BIN      := bin/pocketidp
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/pocketidp/pocketidp/internal/cli.version=$(VERSION)
TESTBIN  := $(shell scripts/testbin/build.sh --print)
# Integration tests start real servers; give a cold machine room.
TESTFLAGS ?= -count=1 -timeout 30m

.PHONY: build run test testbin bench lint e2e clean

# Static (no cgo): one file that runs anywhere, also as the local
# orchestrator's image.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/pocketidp

run: build
	./$(BIN) up

# The servers the integration tests run, cached by version in $(TESTBIN).
testbin: $(TESTBIN)/versions.env

$(TESTBIN)/versions.env: scripts/testbin/build.sh scripts/testbin/*/go.mod
	scripts/testbin/build.sh

# Every test: the unit and integration tests against the real test servers,
# the race runs, then the real-cluster e2e (make e2e).
test: lint testbin
	$(GO) test $(TESTFLAGS) ./...
	$(GO) test -count=1 -race ./internal/bootstrap/ ./internal/state/ ./internal/secret/
	# The whole plan under the race detector: steps share one Install.
	$(GO) test -count=1 -race -run TestUpConvergesAndDownRemovesEverything ./internal/cli/
	scripts/e2e/run.sh

# The Go benchmarks and a summary of the figures that matter (scripts/bench.sh).
bench: testbin build
	GO="$(GO)" scripts/bench.sh $(BIN)

lint:
	@out=$$(gofmt -l cmd internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	# The e2e tests (make e2e) are built with their tag.
	$(GO) vet -tags e2e ./internal/cli/ ./internal/cluster/

# A real kind cluster and the whole platform on it (scripts/e2e/run.sh): a
# private dockerd, every image built here from source (cached under
# ~/.cache/pocketidp/e2e), then the -tags e2e tests. Needs root.
e2e: testbin
	scripts/e2e/run.sh

clean:
	rm -rf bin
