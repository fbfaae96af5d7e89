# Natter: the map of how to build, run, test and lint.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/natter-chat/natter.Version=$(VERSION)

.PHONY: build run test test-short test-js vet fmt-check check-deploy check-chart check-alerts tools test-cluster bench fuzz

build: ## build bin/natter
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/natter ./cmd/natter

# NATTER_ADDR / NATTER_DATA (or ADDR= / DATA= on the make command line)
# move the node; flags given here would otherwise override the environment.
ADDR ?= $(or $(NATTER_ADDR),127.0.0.1:8080)
DATA ?= $(or $(NATTER_DATA),./data)
run: build ## start a single node (default 127.0.0.1:8080, data in ./data)
	./bin/natter serve --addr $(ADDR) --data $(DATA)

test: vet fmt-check check-deploy check-chart check-alerts test-js ## the whole test suite, with the race detector
	NATTER_HELM=$(HELM) NATTER_PROMTOOL=$(PROMTOOL) $(GO) test -race -count=1 -timeout 12m ./...
	# Restarting JetStream in-process trips an upstream data race (see
	# TestDiskFullRecovers), so that test runs here without -race.
	$(GO) test -count=1 -timeout 5m -run 'TestDiskFullRecovers' ./cmd/natter/

test-short: ## quick run without the race detector
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

# The web UI's JavaScript (the protocol client natter.js and the UI's pure
# helpers), with node's built-in test runner: no npm, no packages. The UI
# itself is tested in Chromium by go test (cmd/natter/browser_test.go).
test-js: ## unit tests of the web UI's JavaScript
	@if command -v node >/dev/null; then node --test web/test/*.test.mjs; \
	elif [ "$$NATTER_REQUIRE_TOOLS" = 1 ]; then echo "node missing"; exit 1; \
	else echo "WARNING: node not installed: the web UI's JavaScript tests were NOT run"; fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# docker-compose.yml must stay valid; nothing can run it here. CI installs
# docker-compose (NATTER_REQUIRE_TOOLS=1 makes its absence an error).
check-deploy:
	@if command -v docker-compose >/dev/null; then NATTER_JWT_SECRET=validate docker-compose config -q && echo "docker-compose.yml valid"; \
	elif [ "$$NATTER_REQUIRE_TOOLS" = 1 ]; then echo "docker-compose missing"; exit 1; \
	else echo "WARNING: docker-compose not installed: docker-compose.yml NOT validated"; fi

# Tools of the deployment checks, built from the Go module proxy at pinned
# versions into bin/tools/<tool>-<version>/ (once; a new version is a new
# directory). helm renders and lints deploy/helm/natter (and the Go test
# TestHelmChart, through NATTER_HELM, checks what it renders); promtool
# checks and unit-tests deploy/prometheus/alerts.yml (and
# TestDashboardQueriesParse, through NATTER_PROMTOOL, the dashboard's
# queries).
HELM_VERSION     ?= v4.3.2
PROMTOOL_VERSION ?= v0.316.0
TOOLS    := $(CURDIR)/bin/tools
HELM     := $(TOOLS)/helm-$(HELM_VERSION)/helm
PROMTOOL := $(TOOLS)/promtool-$(PROMTOOL_VERSION)/promtool
tools: $(HELM) $(PROMTOOL) ## build helm and promtool (pinned) into bin/tools
$(HELM):
	GOBIN=$(dir $@) $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
$(PROMTOOL):
	GOBIN=$(dir $@) $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

CHART := deploy/helm/natter
check-chart: $(HELM) ## helm lint and helm template of the chart, in both NATS modes
	$(HELM) lint $(CHART) -f $(CHART)/ci/external-nats-values.yaml
	$(HELM) template chat $(CHART) -f $(CHART)/ci/external-nats-values.yaml >/dev/null
	$(HELM) template chat $(CHART) -f $(CHART)/values-nats.yaml >/dev/null

check-alerts: $(PROMTOOL) ## promtool check and unit tests of the alert rules
	$(PROMTOOL) check rules deploy/prometheus/alerts.yml
	cd deploy/prometheus && $(PROMTOOL) test rules alerts_test.yml

# Fuzzing of every parser that sees client bytes (docs/SECURITY.md,
# "Frames and parsers"): each Fuzz function of every package, one after the
# other, for FUZZTIME each (a duration, or a count such as 100000x).
FUZZTIME ?= 1m
fuzz: ## run every fuzz target for FUZZTIME (default 1m) each
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash .ci/fuzz

# The cluster proof: 3 NATS nodes, 2 edges and a history replica as separate
# processes, traffic under a schedule of faults (kill -9 / restart / drain,
# SIGSTOP of edge1's node and of the ROOMS leader, a rolling restart of the
# NATS nodes, a quorum loss, a history replica rebuilt from an empty data
# dir), then a checker that fails on any lost, duplicated or reordered
# message or any acked message missing from history (docs/RELIABILITY.md).
# Then the partition scenario: the same cluster in network namespaces,
# NATS nodes cut off by the network; it needs root and ip, and says
# SKIPPED without them. About 3.5 minutes in all.
CHAOS_DURATION ?= 150s
PARTITION_DURATION ?= 50s
test-cluster: build
	$(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2
	$(GO) run ./cmd/natter-chaos --natter bin/natter --nats-server bin/nats-server --duration $(CHAOS_DURATION) --history-projection
	$(GO) run ./cmd/natter-chaos --natter bin/natter --nats-server bin/nats-server --scenario partition --duration $(PARTITION_DURATION)

# Load tests (cmd/natter-bench; method and latest figures in
# docs/BENCHMARKS.md): a short run of every scenario, each against a fresh
# `natter serve` in a temp dir, fanout and publish also against
# nats-server's built-in WebSocket listener (the baseline). A few minutes;
# writes bench/results/<scenario>-<time>.json. Not part of make test. The
# history scenario needs wrk (apt-get install -y wrk).
BENCH_OUT ?= bench/results
bench: build bin/nats-server
	$(GO) build -o bin/natter-bench ./cmd/natter-bench
	./bin/natter-bench idle --conns 5000 --idle-wait 30s --out $(BENCH_OUT)
	./bin/natter-bench fanout --rooms 1 --members 1000 --rates 50,100,200,400 --duration 8s --baseline --out $(BENCH_OUT)
	./bin/natter-bench fanout --rooms 500 --members 20 --publishers 4 --rates 1000,4000 --duration 8s --baseline --out $(BENCH_OUT)
	./bin/natter-bench publish --senders 100 --window 8 --duration 10s --baseline --out $(BENCH_OUT)
	./bin/natter-bench storm --conns 2000 --missed 100 --out $(BENCH_OUT)
	./bin/natter-bench history --duration 10s --out $(BENCH_OUT)

bin/nats-server: go.mod
	$(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2
