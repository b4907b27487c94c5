# pgrepl — see README.md.
GO          ?= go
GOBIN       ?= $(shell $(GO) env GOPATH)/bin
STATICCHECK ?= $(GOBIN)/staticcheck
STATICCHECK_VERSION ?= v0.8.2
TESTFLAGS   ?=
FUZZTIME    ?= 10s
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X github.com/pgrepl/pgrepl/internal/cli.Version=$(VERSION)

.PHONY: all build test lint bench fuzz demo clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/pgrepl ./cmd/pgrepl

# Everything, integration tests with real PostgreSQL servers and sshd included
# (scripts/deps.sh installs them first when missing, as root). The fixtures
# write files for the postgres user to read: umask 022, whatever the caller's.
test:
	./scripts/deps.sh test
	umask 022 && $(GO) test -count=1 -timeout 14m $(TESTFLAGS) ./...

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

$(STATICCHECK):
	$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# A short run of every fuzz target (go test runs one -fuzz target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 3s $$pkg; \
	  done; \
	done

# The main job on a local two-node cluster (scripts/demo.sh; PGREPL_DEMO_KEEP=1 keeps it).
demo: build
	./scripts/deps.sh demo
	./scripts/demo.sh

clean:
	rm -rf bin
