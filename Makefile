# SafeMap — the README's two commands are `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test test-cluster fuzz bench lint install vendor system-deps demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip "setuptools>=70.1" wheel
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP) vendor

## Copy Leaflet and its plugins from npm into webmap/static/vendor (the page loads nothing from the internet).
vendor: $(STAMP)
	$(BIN)/python -m safemap.webmap.vendor

## Install the OS packages the tests need when they are missing: PostGIS, pg_auto_failover, Chromium, npm, Mosquitto (MQTT broker).
system-deps:
	@missing=""; \
	pgbin=$$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1); \
	ver=$$(basename "$$(dirname "$$pgbin")"); \
	if [ -z "$$pgbin" ]; then missing="$$missing postgresql postgresql-15-postgis-3"; \
	elif [ ! -f /usr/share/postgresql/$$ver/extension/postgis.control ]; then missing="$$missing postgresql-$$ver-postgis-3"; fi; \
	if [ -z "$$pgbin" ]; then missing="$$missing pg-auto-failover-cli postgresql-15-auto-failover"; \
	elif ! command -v pg_autoctl >/dev/null 2>&1 || [ ! -f /usr/share/postgresql/$$ver/extension/pgautofailover.control ]; then \
	  missing="$$missing pg-auto-failover-cli postgresql-$$ver-auto-failover"; fi; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	command -v ogrinfo >/dev/null 2>&1 || missing="$$missing gdal-bin"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else echo "missing OS packages:$$missing — run: sudo apt-get install$$missing"; exit 1; fi; \
	fi

## Serve the map and API on http://127.0.0.1:8000 (builds the demo county on first run only).
run: install
	$(BIN)/safemap demo --if-missing
	$(BIN)/safemap serve

## Everything: lint, the store contract suite on GeoPackage and a throwaway PostGIS, API, browser tests, notebooks.
test: system-deps install
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest

## The full failover drill (pg_auto_failover: failover, rejoin, failover back); `make test` runs the short one.
test-cluster: system-deps install
	SAFEMAP_CLUSTER_FULL=1 $(BIN)/python -m pytest -m cluster tests/cluster

## A longer fuzz of the API from its own OpenAPI (the suite runs 3 examples per operation, mode and credential).
SAFEMAP_FUZZ_EXAMPLES ?= 25
fuzz: install
	SAFEMAP_FUZZ_EXAMPLES=$(SAFEMAP_FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/api/test_fuzz.py -s

bench: system-deps install
	@ver=$$(basename "$$(dirname "$$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)")"); \
	if [ ! -f /usr/share/postgresql/$$ver/extension/pgrouting.control ]; then \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-$$ver-pgrouting; \
	  else echo "the routing peer needs pgRouting — run: sudo apt-get install postgresql-$$ver-pgrouting"; exit 1; fi; \
	fi
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python -m benchmarks

## The house rules: ruff, the one-way import rule (import-linter), mypy on gis and layers, eslint on the map's JS.
## mypy reads safemap.gis/safemap.layers through a link tree: it cannot follow the editable install's import hook.
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	mkdir -p build/mypy/safemap
	ln -sfn ../../../gis build/mypy/safemap/gis
	ln -sfn ../../../layers build/mypy/safemap/layers
	MYPYPATH=build/mypy $(BIN)/mypy -p safemap.gis -p safemap.layers
	cd webmap && npx --no-install eslint .

demo: install
	$(BIN)/safemap demo --force

clean:
	rm -rf $(VENV) webmap/node_modules webmap/static/vendor var build
