# finkit — common tasks. `make test` is what CI runs (through .ci/run).

STATICCHECK_VERSION := v0.8.2
GO ?= go

# The repository is a workspace (go.work): the library module at the root,
# and nested modules for what must not enter the library's module graph —
# the SQL stores and their migrator (their tests need SQL drivers) and the
# example apps (Gin). `./...` at the root covers the root module only, so
# every target names each workspace module's packages.
PKGS := $(shell $(GO) list -m -f '{{.Dir}}/...' | sed "s|^$(CURDIR)|.|")

.PHONY: all deps test fmt-check vet staticcheck modgraph unit bench run wasm

all: test

# deps installs the system packages the tests need when they are missing
# (Chromium for pdfexport, poppler-utils for pdftotext/pdfinfo, a font so
# pages have text to render, Node.js and npm for the upload package's
# tus-js-client test), then the npm packages of that test
# (upload/testdata/tusclient).
deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-liberation"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = "0" ]; then SUDO=""; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
		else echo "deps: please install the Debian packages$$missing (tests that need them will skip)"; SUDO=none; fi; \
		if [ "$$SUDO" != none ]; then \
			echo "deps: installing$$missing with apt-get"; \
			$$SUDO apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		fi; \
	fi
	@if command -v npm >/dev/null 2>&1 && [ ! -d upload/testdata/tusclient/node_modules/tus-js-client ]; then \
		echo "deps: npm ci in upload/testdata/tusclient"; \
		(cd upload/testdata/tusclient && npm ci --no-audit --no-fund --silent) || echo "deps: npm ci failed (the tus-js-client test will skip, or fail under CI)"; \
	fi

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

# modgraph fails when the library module's graph (what an importer of
# portfolio, auth, ... gets) names Gin, a SQL driver, pgx, minio or quic-go.
modgraph:
	@bad=$$(GOWORK=off $(GO) list -m all | grep -E 'gin-gonic|modernc.org/sqlite|jackc/pgx|lib/pq|minio|quic-go|mongo-driver' || true); \
	if [ -n "$$bad" ]; then echo "modgraph: the library module must not require:"; echo "$$bad"; exit 1; fi

# wasm rebuilds the dashboard's browser chat client (the securechat Client
# compiled to WebAssembly, examples/dashboard/chatwasm) into
# examples/dashboard/static/chat/ with Go's wasm_exec.js; the dashboard
# embeds both, and its TestChatWasmIsFresh fails when they are stale (same
# flags there).
WASM_DIR := examples/dashboard/static/chat
wasm:
	cd examples && GOOS=js GOARCH=wasm $(GO) build -trimpath -buildvcs=false -ldflags='-s -w' -o ../$(WASM_DIR)/chat.wasm ./dashboard/chatwasm
	gzip -9 -n -f $(WASM_DIR)/chat.wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(WASM_DIR)/wasm_exec.js
	@echo "wasm: $$(wc -c < $(WASM_DIR)/chat.wasm.gz) bytes gzip"

unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test: deps wasm fmt-check vet staticcheck modgraph unit

# test-sql runs the SQL stores' tests on SQLite and on a throw-away
# PostgreSQL cluster, as CI does (needs root: apt-get, initdb as postgres).
# With a server of your own: FINKIT_TEST_POSTGRES=postgres://... go test ./auth/sqlstore/...
.PHONY: test-sql
test-sql:
	./.ci/run sql

# bench runs the packages' Go benchmarks, then the dashboard's load
# benchmark (a real server under 200 clients; about two minutes) and the
# chat relay's (1,000 clients on one and on two relays; about two minutes).
# The SQL stores' benchmarks run on SQLite, and on PostgreSQL too when
# FINKIT_TEST_POSTGRES names a server (the same run, side by side).
.PHONY: bench-go bench-load bench-relay
bench: bench-go bench-load bench-relay

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-load:
	$(GO) run ./examples/internal/loadbench

bench-relay:
	$(GO) run ./examples/internal/relaybench

# soak runs the dashboard's soak test (issue 13): many users importing,
# trading and chatting at once for SOAK (default 3m), then every user's
# books reconcile and nothing grew. Not part of make test.
SOAK ?= 3m
.PHONY: soak
soak:
	cd examples && $(GO) test -race -count=1 -timeout 30m -run '^TestSoak$$' ./dashboard/ -soak $(SOAK) -v

run:
	$(GO) run ./examples/dashboard
