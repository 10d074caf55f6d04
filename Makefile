# finkit — common tasks. `make test` is what CI runs (through .ci/run).

STATICCHECK_VERSION := v0.8.2
GO ?= go

.PHONY: all deps test fmt-check vet staticcheck unit bench run

all: test

# deps installs the system packages the tests need (Chromium for pdfexport,
# poppler-utils for pdftotext/pdfinfo, and a font so pages have text to render)
# when they are missing, and the npm packages of the tus-js-client test
# (upload/testdata/tusclient) when node is present.
deps:
	@if command -v npm >/dev/null 2>&1 && [ ! -d upload/testdata/tusclient/node_modules/tus-js-client ]; then \
		echo "deps: npm ci in upload/testdata/tusclient"; \
		(cd upload/testdata/tusclient && npm ci --no-audit --no-fund --silent) || echo "deps: npm ci failed (the tus-js-client test will skip, or fail under CI)"; \
	fi
	@if command -v chromium >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then \
		exit 0; \
	fi; \
	if [ "$$(id -u)" = "0" ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "deps: please install the Debian packages chromium, poppler-utils and fonts-liberation (tests that need them will skip)"; exit 0; fi; \
	echo "deps: installing chromium and poppler-utils with apt-get"; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium poppler-utils fonts-liberation >/dev/null

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

unit:
	$(GO) test -race -count=1 -timeout 20m ./...

test: deps fmt-check vet staticcheck unit

# test-sql runs the SQL stores' tests on SQLite and on a throw-away
# PostgreSQL cluster, as CI does (needs root: apt-get, initdb as postgres).
# With a server of your own: FINKIT_TEST_POSTGRES=postgres://... go test ./auth/sqlstore/...
.PHONY: test-sql
test-sql:
	./.ci/run sql

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

run:
	$(GO) run ./examples/dashboard
