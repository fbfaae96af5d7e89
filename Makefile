# Natter: the map of how to build, run, test and lint.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/natter-chat/natter.Version=$(VERSION)

.PHONY: build run test test-short vet fmt-check ci

build: ## build bin/natter
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/natter ./cmd/natter

run: build ## start a single node with data in ./data
	./bin/natter serve --addr 127.0.0.1:8080 --data ./data

test: vet fmt-check ## the whole test suite, with the race detector
	$(GO) test -race -count=1 -timeout 12m ./...

test-short: ## quick run without the race detector
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
