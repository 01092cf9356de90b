# twolayer: thin wrapper over CMake and CTest.
#   make report            install missing packages, build, run every chapter (full profile),
#                          check every claim, write out/, figures/ (and the PDF, once the report lands)
#   make report PROFILE=quick   the same on the quick profile (seconds)
#   make test              install missing packages, build, run ctest (unit, claims, sabotage, ...)
#   make clean             remove build/, out/ and figures/
# bash with pipefail: the build's output is filtered, its status is kept.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# CMake's "[NN%] Built target ..." bookkeeping lines hide the steps.
QUIET_BUILD := sed -u -e '/Built target/d' -e '/Scanning dependencies/d' -e '/Consolidate compiler generated dependencies/d'

PROFILE ?= full
PRESET  ?= release
BUILD   := build/$(PRESET)

.PHONY: all deps configure build test report clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@echo "== configure ($(PRESET))"
	@mkdir -p build
	@cmake --preset $(PRESET) -DTL_PROFILE=$(PROFILE) > $(BUILD).configure.log 2>&1 || \
	  { cat $(BUILD).configure.log; exit 1; }

build: configure
	@echo "== build"
	@MAKEFLAGS=--no-print-directory cmake --build --preset $(PRESET) | $(QUIET_BUILD)

test: build
	@echo "== test"
	@ctest --preset $(PRESET)

report: build
	@echo "== report ($(PROFILE) profile)"
	@MAKEFLAGS=--no-print-directory cmake --build $(BUILD) --target report | $(QUIET_BUILD)
	@echo "== the report: $(CURDIR)/report/twolayer.pdf (and twolayer.html)"

clean:
	rm -rf build out figures
