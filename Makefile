# Two entry points for a fresh machine: `make run` (the app on the default preset) and `make test`.
# Both create/update .venv themselves. torch is pinned and installed with pip before anything else.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test bench venv clean system-deps

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages: CJK font for the text chart, photo sets, chromium for the browser test (root only).
system-deps:
	bash .ci/system-deps

run: $(STAMP) system-deps
	$(BIN)/streamlit run app/main.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m engine bench

clean:
	rm -rf $(VENV) .pytest_cache
