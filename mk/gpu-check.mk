# make gpu-check: the self-contained bundle for a GPU machine (docs/PERFORMANCE.md, "GPU check").
#
#   $(BUILD)/gpu-check/         bidora, bench_train (both with the CUDA backend), cmp_runs, lib/ (every
#                               shared library they need but glibc's, libstdc++/libgcc_s and CUDA's),
#                               the tiny model and data, bench/torch_peft_bench.py, run.sh, and
#                               compute-sanitizer when one can be had (scripts/gpu_check_bundle.sh)
#   $(BUILD)/gpu-check.tar.gz   the same directory as one file (< 60 MiB; what the device tool carries)
#
# The binaries are linked here again from the objects `make` builds: the CUDA runtime static
# (-lcudart_static: no libcudart.so on the GPU machine needed), cuBLAS shared (CUDA ships no
# static cuBLAS here; the GPU machine's libcublas.so.13 / libcublasLt.so.13 are found by run.sh),
# and an RPATH of $ORIGIN/lib (DT_RPATH, not RUNPATH, so it also serves the libraries' own
# dependencies: libopenblas's libgfortran). On the GPU machine: sh gpu-check/run.sh.

GPU_CHECK_BIN := $(BUILD)/gpu-check-bin
GPU_CHECK_RPATH := -Wl,--disable-new-dtags,-rpath,'$$ORIGIN/lib'
GPU_CHECK_CUDA_LIBS = -L$(CUDA_LIBDIR) -lcublas -lcudart_static -ldl -lrt -lpthread

.PHONY: gpu-check
ifneq ($(NVCC),)
gpu-check: $(GPU_CHECK_BIN)/bidora $(GPU_CHECK_BIN)/bench_train $(GPU_CHECK_BIN)/cmp_runs
	@BUILD=$(BUILD) sh scripts/gpu_check_bundle.sh

$(GPU_CHECK_BIN)/bidora: $(BUILD)/src/cli/main.o $(BUILD)/libbidora.a $(CUDA_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(GPU_CHECK_CUDA_LIBS) $(GPU_CHECK_RPATH)
$(GPU_CHECK_BIN)/bench_train: $(BUILD)/bench/bench_train.o $(BUILD)/libbidora.a $(CUDA_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(GPU_CHECK_CUDA_LIBS) $(GPU_CHECK_RPATH)
$(GPU_CHECK_BIN)/cmp_runs: $(BUILD)/tests/tools/cmp_runs.o $(BUILD)/libbidora.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) $(GPU_CHECK_RPATH)
else
gpu-check:
	@echo "gpu-check: no nvcc (PATH or /usr/local/cuda/bin): the bundle needs the CUDA backend compiled for the GPU" >&2
	@exit 1
endif
