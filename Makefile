# piivault — the two commands of the quick start, and a few more.
#   make run    install packages, build, init ./data once, serve on 127.0.0.1:8200
#               (DATA=dir and LISTEN=host:port override the defaults)
#   make test   install packages, build, run every test (unit, conformance, HTTP)
BUILD ?= build
SAN_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)
DATA ?= data
LISTEN ?=
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build run test test-sanitize bench bench-audit bench-pg clean format

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@if [ ! -f $(DATA)/piivault.toml ]; then $(BUILD)/bin/piivault init --dir $(DATA); fi
	$(BUILD)/bin/piivault serve --config $(DATA)/piivault.toml $(if $(LISTEN),--listen $(LISTEN))

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPIIVAULT_SANITIZE=ON -DPIIVAULT_BENCH=OFF
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && UBSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) --timeout 900

bench: bench-audit
	$(BUILD)/bin/piivault_bench
	bench/http_load.sh

# HTTP GET with audit events vs the same server with auditing compiled out.
bench-audit: build
	cmake --build $(BUILD) -j $(JOBS) --target piivault_audit_off
	bench/audit_http_overhead.sh

# HTTP load test on PostgreSQL storage against a pgbench baseline (throw-away
# PostgreSQL 15 cluster, see docs/PERFORMANCE.md).
bench-pg: build
	PIIVAULT_BIN=$(BUILD)/bin/piivault bench/pg_http_load.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
