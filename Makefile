# 红雁 — the one build entry point. `make run` and `make test` install whatever is missing first.
#
#   make run     build the release app and serve it on http://127.0.0.1:3000 with demo data
#   make test    every test: formatting, clippy, native unit + server tests (the server's on SQLite and on
#                PostgreSQL), sync faults, release build,
#                size report, Lighthouse, the browser end-to-end tests in Chromium, and WebKit
#   make check   the inner loop: formatting, clippy (server and wasm), unit and server tests (a few minutes)
#   make dev     cargo-leptos' watch mode: rebuilds on every change, serves http://127.0.0.1:3000 with demo data
#   make size    the first load (html + js + wasm + css) as the release server sends it, brotli and gzip
#   make lighthouse  Lighthouse's mobile preset (slow 4G, 4× CPU) against the release server: fails under
#                performance 90, accessibility 100, best practices 100 (part of `make test`)
#   make webkit  the member's offline flow in WebKit (WebKitGTK's WebDriver under Xvfb; part of `make test`)
#   make bench-phone  a first visit on slow 4G at 4× CPU: time and bytes to the login form and to
#                已可离线使用, tap → shown, and the bytes of an update after a one-page change
#   make bench   push throughput of the release server on a fresh database (loopback only)
#   make bench-storm  the end of a meeting everywhere at once: 3,000 members (STORM_MEMBERS) each push
#                one sign-in, 64 in flight; then the same as retries; then every member pulls — on
#                PostgreSQL with one app server and with two (fsync on), then on SQLite
#   make bench-scale  the district-sized reads (100,000 members, three years) against the release server;
#                make bench-scale-postgres the same reads on PostgreSQL, on the same fixture
#   make faults  sync faults 11, 12 and 13 (README) against the server binary: 10,000 records through a
#                fault-injecting proxy with server restarts, 20 SIGKILLs mid-batch, and 10,000 records
#                through two servers on one PostgreSQL that crashes now and then (part of `make test`)
#   make faults-long  the same at benchmark size: 50,000 records and 200 SIGKILLs
#   make fuzz    the API fuzzed from its OpenAPI document as every role, at length (≥ 100,000 requests;
#                `make test` runs a short round of it)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(CARGO_HOME)/bin:$(PATH)

PORT ?= 3000
DB ?= hongyan-demo.db
CARGO_LEPTOS_VERSION := 0.3.8
# Must equal the wasm-bindgen crate version in Cargo.toml. (Not --locked: its lock file names a
# webpki-roots release the registry here does not serve.)
WASM_BINDGEN_VERSION := 0.2.130

.PHONY: run test check dev build size lighthouse webkit bench-phone setup-webkit bench bench-storm bench-scale bench-scale-postgres faults faults-long fuzz fuzz-quick setup setup-rust setup-node setup-browser setup-fuzz setup-postgres lint unit e2e clean

run: setup build
	target/release/hongyan --demo --port $(PORT) --db $(DB) --site target/site

test: setup setup-browser setup-webkit setup-fuzz setup-postgres lint unit faults build size lighthouse fuzz-quick e2e webkit

check: setup-rust setup-postgres lint unit

# The debug build, rebuilt and restarted on every change (the server reads its options from the environment).
dev: setup
	HONGYAN_DEMO=1 HONGYAN_DB=hongyan-dev.db HONGYAN_SITE=target/site cargo leptos watch --split

build: setup
	cargo leptos build --release --split --precompress

# The first load as the release server sends it (a throwaway database, a port of its own).
size:
	@dir=$$(mktemp -d); target/release/hongyan --port 3302 --db $$dir/size.db --site target/site >$$dir/log 2>&1 & pid=$$!; \
	trap 'kill $$pid; rm -rf $$dir' EXIT; \
	for i in $$(seq 100); do curl -sf http://127.0.0.1:3302/sw.js >/dev/null && break; sleep 0.2; done; \
	node end2end/size-report.mjs http://127.0.0.1:3302

lighthouse: setup setup-browser
	@dir=$$(mktemp -d); target/release/hongyan --port 3304 --db $$dir/lighthouse.db --site target/site >$$dir/log 2>&1 & pid=$$!; \
	trap 'kill $$pid; rm -rf $$dir' EXIT; \
	for i in $$(seq 100); do curl -sf http://127.0.0.1:3304/sw.js >/dev/null && break; sleep 0.2; done; \
	node end2end/lighthouse.mjs http://127.0.0.1:3304/

# WebKit is the engine of every iPhone browser (WeChat's included); Playwright's own WebKit cannot be
# downloaded here, so the test drives Debian's WebKitGTK through its WebDriver.
webkit: setup-webkit
	node end2end/webkit-offline.mjs

bench-phone: build setup-browser
	node end2end/bench-phone.mjs

bench: build
	@dir=$$(mktemp -d); \
	target/release/hongyan --demo --port 3300 --db $$dir/bench.db --site target/site & pid=$$!; \
	trap 'kill $$pid; rm -rf $$dir' EXIT; \
	for i in $$(seq 50); do curl -sf http://127.0.0.1:3300/api/v1/openapi.json >/dev/null && break; sleep 0.2; done; \
	node end2end/bench-push.mjs http://127.0.0.1:3300 20

# A fresh district in a temporary directory; the load generator is the binary's own (`hongyan storm`).
STORM_MEMBERS ?= 3000
bench-storm: build setup-postgres
	@dir=$$(mktemp -d); \
	target/release/hongyan seed-storm --dir $$dir --members $(STORM_MEMBERS); \
	for servers in 1 2; do \
		target/release/hongyan bench-on-postgres --from $$dir/storm.db --servers $$servers \
			"target/release/hongyan storm --dir $$dir --server \$$HONGYAN_SERVERS --in-flight 64"; \
	done; \
	echo "SQLite, one server:"; \
	target/release/hongyan --port 3303 --db $$dir/storm.db --site target/site >$$dir/log 2>&1 & pid=$$!; \
	trap 'kill $$pid; rm -rf $$dir' EXIT; \
	for i in $$(seq 100); do curl -sf http://127.0.0.1:3303/sw.js >/dev/null && break; sleep 0.2; done; \
	target/release/hongyan storm --dir $$dir --server 127.0.0.1:3303 --in-flight 64

# Reads at a district's size: builds the scale fixture once (100,000 members, three years; about 20 minutes)
# into target/scale and reuses it, then times every read against the release server.
SCALE_DB ?= target/scale/district.db
bench-scale: build
	@mkdir -p $(dir $(SCALE_DB))
	@test -f $(SCALE_DB) || target/release/hongyan seed-scale --db $(SCALE_DB) --members 100000 --detailed-months 1
	@target/release/hongyan --port 3301 --db $(SCALE_DB) --site target/site & pid=$$!; \
	trap 'kill $$pid' EXIT; \
	for i in $$(seq 600); do curl -sf http://127.0.0.1:3301/api/v1/openapi.json >/dev/null && break; sleep 0.5; done; \
	node end2end/bench-scale.mjs http://127.0.0.1:3301 30

# The same reads on PostgreSQL, on the same fixture (copied into a throwaway cluster; one app server).
bench-scale-postgres: build setup-postgres
	@test -f $(SCALE_DB) || { echo "run make bench-scale first: it builds $(SCALE_DB)"; exit 1; }
	target/release/hongyan bench-on-postgres --from $(SCALE_DB) \
		'node end2end/bench-scale.mjs http://$${HONGYAN_SERVERS%%,*} 30'

lint:
	cargo fmt --check
	cargo clippy --all-targets --features server -- -D warnings
	cargo clippy --lib --features csr --target wasm32-unknown-unknown -- -D warnings

# Every test once on SQLite, then the server tests again on PostgreSQL (a throwaway cluster each run).
unit: setup-postgres
	cargo test --features server --lib --bins --test hostile_input
	HONGYAN_TEST_ENGINE=postgres cargo test --features server --lib server::

# The seed is printed; HONGYAN_SEED=<n> replays a run.
faults: setup-postgres
	cargo test --features server --test sync_faults -- --nocapture

faults-long: setup-postgres
	HONGYAN_FAULT_MUTATIONS=50000 HONGYAN_KILLS=200 cargo test --features server --test sync_faults -- --nocapture

e2e:
	cd end2end && npx playwright test

# Schemathesis from the OpenAPI document against the release server (loopback): no 5xx, only documented
# statuses, every body as documented. The seed is printed; HONGYAN_SEED=<n> replays it.
fuzz-quick:
	node end2end/fuzz.mjs target/site 12

fuzz: setup-fuzz build
	node end2end/fuzz.mjs target/site 600

setup: setup-rust setup-node

# The wasm target, wasm-bindgen and cargo-leptos (installed once into CARGO_HOME; later runs find it there).
setup-rust:
	@rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@if ! wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)"; then \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi
	@if ! cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)"; then \
		echo "installing cargo-leptos $(CARGO_LEPTOS_VERSION) (takes 15-20 minutes once)"; \
		cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION) --features no_downloads; \
	fi

# Playwright and wasm-opt (binaryen 132; Debian's older wasm-opt breaks the app at runtime).
setup-node:
	@if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then \
		cd end2end && npm ci --no-audit --no-fund; \
	fi

# Schemathesis (PyPI) for fuzzing the API, in a virtualenv of its own.
SCHEMATHESIS_VERSION := 4.32.5
setup-fuzz:
	@if ! end2end/.venv/bin/schemathesis --version 2>/dev/null | grep -q "$(SCHEMATHESIS_VERSION)"; then \
		python3 -m venv end2end/.venv && end2end/.venv/bin/pip install -q "schemathesis==$(SCHEMATHESIS_VERSION)"; \
	fi

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
setup-browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# PostgreSQL's server programs (Debian's package) for the tests on the second engine: each test process
# starts a throwaway cluster of its own in a temporary directory and removes it when it ends.
setup-postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

setup-webkit:
	@command -v WebKitWebDriver >/dev/null && command -v Xvfb >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq webkit2gtk-driver xvfb >/dev/null; }

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results
