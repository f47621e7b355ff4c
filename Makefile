# mod_auth_openidc_rs: build, install, test, demo and bench.
#
#   make deps     install the Debian packages and the node test dependencies (skips what is there)
#   make build    cargo build --release, copy the module to build/mod_auth_openidc_rs.so
#   make install  copy the module and apache/auth_openidc_rs.{load,conf} into Apache
#   make test     deps + build + unit tests + the integration suite (tests/integration)
#   make demo     Apache + module + OpenID provider + echo backend on loopback; Ctrl-C stops
#   make bench    wrk: no auth vs our module vs the C module (tests/bench)
#
# MODULE_SO picks the module the integration suite loads (default: ours). To run the suite against
# the Debian C module:  make itest MODULE_SO=/usr/lib/apache2/modules/mod_auth_openidc.so REFERENCE=1

SHELL := /bin/bash

CARGO     ?= cargo
NODE      ?= node
MODULE_SO ?= $(CURDIR)/build/mod_auth_openidc_rs.so
# node --test runs test files in parallel; each file starts its own Apache instances.
TEST_CONCURRENCY ?= 2

APT_PACKAGES := apache2 apache2-dev libclang-dev clang libssl-dev pkg-config redis-server memcached \
                chromium wrk libapache2-mod-auth-openidc curl openssl ca-certificates

ITEST_DIR := tests/integration

.PHONY: all deps apt-deps node-deps build install test unit-test itest demo bench clean

all: build

deps: apt-deps node-deps

# apt-get only when a package is missing, and `apt-get update` only then, so repeated runs are fast.
apt-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update && apt-get install -y --no-install-recommends $$missing; \
	else \
	  echo "deps: Debian packages already installed"; \
	fi

# npm ci only when the lock file changed since the last install.
node-deps: $(ITEST_DIR)/node_modules/.installed

$(ITEST_DIR)/node_modules/.installed: $(ITEST_DIR)/package.json $(ITEST_DIR)/package-lock.json
	cd $(ITEST_DIR) && npm ci --no-audit --no-fund
	touch $@

build:
	$(CARGO) build --release
	mkdir -p build
	cp target/release/libmod_auth_openidc_rs.so build/mod_auth_openidc_rs.so

install: build
	install -m 0644 build/mod_auth_openidc_rs.so "$$(apxs -q LIBEXECDIR)/mod_auth_openidc_rs.so"
	install -m 0644 apache/auth_openidc_rs.load /etc/apache2/mods-available/auth_openidc_rs.load
	install -m 0644 apache/auth_openidc_rs.conf /etc/apache2/mods-available/auth_openidc_rs.conf

test: deps build unit-test itest

unit-test:
	$(CARGO) test --release

# The integration suite alone (no build): also usable against the C module, see the top of this file.
itest: node-deps
	rm -rf tests/work /tmp/mod_auth_openidc_rs-tests-work
	cd $(ITEST_DIR) && MODULE_SO="$(MODULE_SO)" $(NODE) --test \
	  --test-concurrency=$(TEST_CONCURRENCY) --test-timeout=600000 *.test.js

demo: deps build
	MODULE_SO="$(MODULE_SO)" $(NODE) tests/demo/demo.mjs

bench: deps build
	MODULE_SO="$(MODULE_SO)" $(NODE) tests/bench/bench.mjs

clean:
	rm -rf build tests/work
