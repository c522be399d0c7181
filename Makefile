# Vigil's entry points. `make` builds everything into build/; `make test` is
# what CI runs; `make demo` runs the main job; `make bench` measures.
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps configure test test-gcc test-asan demo demo-scan bench fuzz footprint clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

configure:
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc $(CMAKE_FLAGS)

# Installs missing Debian packages when run as root; otherwise says what is missing.
deps:
	@bash scripts/deps.sh

test: deps
	$(MAKE) test-gcc
	$(MAKE) test-asan

# gcc build: every test, then the unit tests again under valgrind.
test-gcc: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE fuzz
	cd $(BUILD) && ctest --output-on-failure -L unit -T memcheck --overwrite MemoryCheckCommandOptions="--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"

# clang build with ASan+UBSan: every test again, and each libFuzzer harness for FUZZ_SECONDS.
test-asan: deps
	@test -f $(BUILD_ASAN)/CMakeCache.txt || cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DVIGIL_SANITIZE=ON -DVIGIL_FUZZ=ON -DVIGIL_FUZZ_SECONDS=$(FUZZ_SECONDS) $(CMAKE_FLAGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS)

fuzz:
	$(MAKE) test-asan BUILD_ASAN=build-fuzz FUZZ_SECONDS=$(if $(filter 60,$(FUZZ_SECONDS)),600,$(FUZZ_SECONDS))

# As root: the live system until Ctrl-C (scripts/demo-live.sh); otherwise the offline scan.
demo: deps all
	@bash scripts/demo.sh $(BUILD)

demo-scan: deps all
	@bash scripts/demo-scan.sh $(BUILD)

bench: deps all
	@bash bench/run.sh $(BUILD)

# Cross-builds libvigil for Cortex-M0+, Cortex-M4F and RV32IMAC at -Os and
# prints flash, RAM and worst-case stack as BENCH lines (scripts/footprint.sh).
footprint: deps
	@bash scripts/footprint.sh $(BUILD)/footprint

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
