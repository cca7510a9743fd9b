# The two commands a newcomer needs: `make demo` and `make test`.
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO          ?= go
FUZZTIME    ?= 10s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
NATSCLI     ?= github.com/nats-io/natscli/nats@v0.5.0
GOBIN       := $(shell $(GO) env GOPATH)/bin

.PHONY: all build test interop-deps soak security browser demo bench bench-check fuzz lint tidy

all: build test

## build: compile every package, examples and commands included
build:
	$(GO) build ./...

## test: build everything, install the interop peers, run all tests with the race detector
test: build interop-deps
	$(GO) test -race -count=1 -timeout 8m ./...

## interop-deps: the JavaScript peers' npm packages (jspeer, natsbrowser) and the nats CLI, for the interop tests
interop-deps: examples/jspeer/node_modules/.package-lock.json examples/natsbrowser/node_modules/.package-lock.json $(GOBIN)/nats

examples/jspeer/node_modules/.package-lock.json: examples/jspeer/package-lock.json
	npm ci --prefix examples/jspeer --no-audit --no-fund

examples/natsbrowser/node_modules/.package-lock.json: examples/natsbrowser/package-lock.json
	npm ci --prefix examples/natsbrowser --no-audit --no-fund

$(GOBIN)/nats:
	$(GO) install $(NATSCLI)

## soak: the fault-injection tests with ten times the events
soak:
	$(GO) test -race -count=1 -timeout 20m -v -run . ./faulttest -args -soak 2>&1 | grep -E "^(=== RUN|--- |ok|FAIL|PASS|panic)|_test.go"

## security: a hostile service's attacks on a least-privilege namespace, and their summary line
security:
	$(GO) test -race -count=1 -run '^TestAttacks$$' -v ./mesh/securitytest 2>&1 | grep -E "^(attacks=|--- |ok|FAIL|PASS|panic)|_test.go"

## browser: the real-browser tests (-tags browser) in headless Chromium, Debian's chromium (apt-get install -y chromium): a failure without it
BROWSER_PKGS ?= ./internal/operator/bridge ./examples/natsbrowser
browser: examples/natsbrowser/node_modules/.package-lock.json
	MESH_BROWSER_REQUIRED=1 $(GO) test -tags browser -race -count=1 -run 'InABrowser' $(BROWSER_PKGS)

## demo: run the example services in one process on an embedded server
demo:
	$(GO) run ./examples/demo

## bench: the comparison table against raw nats.go and peers (bench/, its own module; 3 to 8 minutes on 2 cores), then the micro-benchmarks
bench:
	cd bench && $(GO) run .
	$(GO) test -run '^$$' -bench . -benchmem ./codec ./subjects ./mesh ./signing

## bench-check: vet and test the bench module (a smoke run of every section)
bench-check:
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./...

## fuzz: run every fuzz target for FUZZTIME each (default 10s). Go's fuzzing engine sometimes reports the end of -fuzztime itself as a failure ("context deadline exceeded", no failing input) on a loaded machine: such a run is tried once more; a failing input fails at once.
fuzz:
	@set -e; for pkg in ./subjects ./codec ./codec/internal/jsonscan ./codec/internal/rfc3339 ./internal/hostiletest ./mesh/internal/store; do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$target"; \
			if ! out=$$($(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); then \
				echo "$$out"; \
				if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input'; then \
					echo "fuzz $$pkg $$target: the engine's deadline, no failing input: once more"; \
					$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
				else exit 1; fi; \
			else echo "$$out" | tail -1; fi; \
		done; \
	done

## lint: go vet and staticcheck (installed on first use)
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## tidy: tidy go.mod and go.sum
tidy:
	$(GO) mod tidy
