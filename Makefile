# nri-audit — run `make` or `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BUILD_DIR ?= build
FUZZTIME  ?= 5s
BENCHTIME ?= 1s
# cgo is needed by the journal reader (sdjournal) and the Fluent Bit plugin.
export CGO_ENABLED ?= 1

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build nri-audit and nri-audit-validator into build/
	@mkdir -p $(BUILD_DIR)
	$(GO) build -trimpath -o $(BUILD_DIR)/nri-audit ./cmd/nri-audit
	$(GO) build -trimpath -o $(BUILD_DIR)/nri-audit-validator ./cmd/nri-audit-validator

.PHONY: plugin
plugin: ## build the Fluent Bit output plugin build/out_nri_audit.so (cgo, c-shared)
	@mkdir -p $(BUILD_DIR)
	$(GO) build -buildmode=c-shared -trimpath -o $(BUILD_DIR)/out_nri_audit.so ./plugin
	@rm -f $(BUILD_DIR)/out_nri_audit.h

.PHONY: demo
demo: ## install what is missing (apt), build, generate a sample journal, ship it, print a summary (ES_URL=… ships to Elasticsearch too)
	@scripts/demo.sh

.PHONY: test
test: ## vet, all tests with -race, and a short run of every fuzz target
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	@$(MAKE) --no-print-directory test-portable
	@$(MAKE) --no-print-directory fuzz-smoke

# The hot-path packages again without the amd64 assembly: as GOARCH=386
# (32-bit ints) and, where qemu-aarch64-static is installed (.ci/run
# installs it), as GOARCH=arm64 under user-mode emulation. Compile errors
# fail; a machine that cannot run the binaries only skips the run.
PORTABLE_PKGS := ./audit ./parser ./flbchunk ./esbulk ./flbout
.PHONY: test-portable
test-portable: ## the hot-path packages as GOARCH=386 and arm64 (qemu): the encoder's portable twin, 32-bit ints
	CGO_ENABLED=0 GOARCH=386 $(GO) vet $(PORTABLE_PKGS)
	CGO_ENABLED=0 GOARCH=arm64 $(GO) vet $(PORTABLE_PKGS)
	@set -e; dir=$$(mktemp -d); trap 'rm -rf $$dir' EXIT; \
	CGO_ENABLED=0 GOARCH=386 $(GO) test -c -o $$dir/probe ./audit; \
	if $$dir/probe -test.run '^$$' >/dev/null 2>&1; then \
	  echo "CGO_ENABLED=0 GOARCH=386 $(GO) test -count=1 $(PORTABLE_PKGS)"; \
	  CGO_ENABLED=0 GOARCH=386 $(GO) test -count=1 $(PORTABLE_PKGS); \
	else echo "test-portable: this kernel does not run 386 binaries; 386 run skipped"; fi; \
	if command -v qemu-aarch64-static >/dev/null; then \
	  for p in $(PORTABLE_PKGS); do \
	    CGO_ENABLED=0 GOARCH=arm64 $(GO) test -c -o $$dir/arm64.test $$p; \
	    (cd $$p && qemu-aarch64-static $$dir/arm64.test -test.count=1 >$$dir/log 2>&1) || { cat $$dir/log; exit 1; }; \
	    echo "ok  $$p (arm64, qemu)"; \
	  done; \
	else echo "test-portable: no qemu-aarch64-static; arm64 run skipped"; fi

.PHONY: fuzz-smoke
# A run that only reports "context deadline exceeded" hit the go test -fuzz
# time-limit race (golang/go#48127, under load): it found nothing, so it is
# reported and not failed. A real finding always prints "Failing input written".
fuzz-smoke: ## run every fuzz target for FUZZTIME (default 5s)
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for pkg in $$($(GO) list ./...); do \
	  dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
	  for t in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    if ! $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg >$$log 2>&1; then \
	      if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
	        echo "  (fuzz time limit hit while a worker was busy; no failing input)"; \
	      else cat $$log; exit 1; fi; \
	    fi; \
	  done; \
	done

.PHONY: bench
bench: ## run the benchmarks (BENCHTIME=1s)
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

.PHONY: bench-instructions
bench-instructions: ## instructions per record of the plugin hot path under callgrind (repeatable on a busy machine; needs valgrind)
	sh scripts/bench-instructions.sh

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: victorialogs
victorialogs: ## prebuild the VictoriaLogs test server into build/cache/ (integration tests build it on demand)
	$(GO) test -count=1 -run '^TestBuildBinary$$' ./internal/testenv/victorialogs

.PHONY: clean
clean: ## remove build outputs
	rm -rf $(BUILD_DIR)
