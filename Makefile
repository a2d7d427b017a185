# The two commands of the README:
#   make run   installs what is missing, builds, starts img-engine + img-rest
#   make test  installs what is missing, builds, runs every test (CTest)
# Other targets: build, asan, fuzz, lint, bench, clean.

MAKEFLAGS += --no-print-directory

BUILD      ?= build
ASAN_BUILD ?= build-asan
CONFIG     ?= config/img.conf
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20

.PHONY: all run test deps deps-test build asan test-unit test-asan docs-deps lint fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

# Swagger UI for the docs page, and the OpenAPI linter / browser driver for tests.
docs-deps:
	@scripts/docs-deps.sh

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_RULE_MESSAGES=OFF >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory -s
	@test -x $(BUILD)/img-rest/img-rest && test -x $(BUILD)/img-engine/img-engine

run: build docs-deps
	@scripts/run.sh $(BUILD) $(CONFIG)

$(ASAN_BUILD)/CMakeCache.txt:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DIMG_SANITIZE=ON -DCMAKE_RULE_MESSAGES=OFF >/dev/null

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	@cmake --build $(ASAN_BUILD) -j $(JOBS) -- --no-print-directory -s

test: deps-test build docs-deps
	@scripts/test.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_SECONDS)

lint: deps-test docs-deps
	@scripts/lint-openapi.sh
	@shellcheck scripts/*.sh .ci/run
	@docker-compose -f docker-compose.yml config -q

fuzz: deps-test
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

bench: build
	@scripts/install-deps.sh bench
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
