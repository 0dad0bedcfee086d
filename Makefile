# Sori: the two commands a newcomer needs are `make serve` and `make test`; both install first.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sori-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test bench soak lint clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install_system.sh
	bash scripts/install_system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[torch,plot,eval,zeroconf,postgres,dev,ray]'
	$(PY) -m tts.text.cmudict_data
	touch $(STAMP)

serve: install
	$(VENV)/bin/sori serve --host $(HOST) --port $(PORT)

# Passive OpenMP waiting: idle threads sleep instead of spinning, so tests stay fast on a busy machine.
test: install
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q

BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.sori-bench-installed

# Benchmarks run in their own environment (Sori + Coqui TTS + librosa), never in .venv.
bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m bench

# Load, overload and a 2,000-request soak against `sori serve` on 127.0.0.1 (about 15 minutes on
# 2 CPU cores); writes bench/SOAK_RESULTS.md.
soak: install
	OMP_WAIT_POLICY=PASSIVE $(PY) -m bench.soak

$(BENCH_STAMP): pyproject.toml bench/install.sh
	PYTHON=$(PYTHON) bash bench/install.sh $(BENCH_VENV)
	touch $(BENCH_STAMP)

# The dependency audit says "could not run" (and passes) when no vulnerability service is reachable.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tts assistant server sori scripts/audit_deps.py
	$(PY) scripts/audit_deps.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
