# tensorplan: the two commands for a fresh machine are `make run` and `make test`.
PRESET ?= release
BUILD  := build/$(PRESET)
JOBS   ?= $(shell nproc)
# The graph `make run` plans by default: ResNet-50, batch 32, SGD, from the model zoo.
RUN_GRAPH ?= models/resnet50-b32-sgd.json.gz
RUN_ARGS  ?=
CTEST_ARGS ?=

.PHONY: run test test-asan test-tsan bench build configure deps clean format format-check fuzz

deps:
	@scripts/install-deps

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/tensorplan mem plan $(RUN_GRAPH) $(RUN_ARGS)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The C++ tests under AddressSanitizer + UBSan (the Python tests run in `make test`).
test-asan:
	@$(MAKE) --no-print-directory test PRESET=asan-ubsan CTEST_ARGS="-E python_tests"

# The tests of the threaded code (the placement search: its strategies' turns on threads, and the
# searches that use them) under ThreadSanitizer; only the mem tests are built. The search of a real
# 18k-buffer trace is left out: its pieces get slices of seconds sized for a normal build, which
# TSan's ~10x slowdown beside other tests overruns (CI saw it end 7.8% above the bound); the
# random packings with a tiny node budget take the pieces through the same threaded code.
TSAN_TESTS ?= StrategyTurns|PlaceSearch\.|PlaceSearchExtreme|PlaceSearchAtScale\.Pieces|PlacePortfolio|Planner
test-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build build/tsan -j $(JOBS) --target tensorplan_mem_tests
	@ctest --preset tsan -j $(JOBS) -R '$(TSAN_TESTS)'

# Each libFuzzer target of tests/fuzz for FUZZ_SECONDS (default 60) from its corpus; new failing
# inputs are kept under build/fuzz/findings (scripts/fuzz). CI runs a short round.
FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/fuzz $(FUZZ_SECONDS)

bench: build
	@scripts/run-benchmarks $(BUILD)

CXX_SOURCES = find src tools tests bench -name '*.h' -o -name '*.cc'
format:
	@$(CXX_SOURCES) | xargs clang-format -i

# Fails (naming the files) where a C++ file differs from `make format`'s layout; CI runs it.
format-check: deps
	@$(CXX_SOURCES) | xargs clang-format --dry-run --Werror

clean:
	rm -rf build

# Regenerates the model zoo (models/*.json.gz, models/MANIFEST.md) with the Python exporter;
# MANIFEST figures come from the built CLI's `mem simulate`. See scripts/zoo-export.
.PHONY: zoo
zoo: build
	@scripts/zoo-export --cli $(BUILD)/tensorplan
