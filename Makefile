# SPDX-License-Identifier: GPL-3.0-or-later
# The two commands: `make run` (the demo) and `make test` (every suite, twice: plain and
# under AddressSanitizer + UBSan, then the formatting check).

BUILD      ?= _build
ASAN_BUILD ?= _build-asan
PORT       ?= 8080
MESON_TEST  = meson test --print-errorlogs --num-processes 2

.PHONY: all deps build build-asan test test-plain test-asan format check-format run bench clean

all: build

deps:
	@tools/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

test-plain: build
	$(MESON_TEST) -C $(BUILD)

test-asan: build-asan
	$(MESON_TEST) -C $(ASAN_BUILD) --timeout-multiplier 4

check-format:
	@tools/check-format

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

test: test-plain test-asan check-format
	@echo "make test: all suites passed, plain and under ASan/UBSan; formatting clean"

run: build
	@tools/run-demo $(BUILD) $(PORT)

bench: build
	@bench/run $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
