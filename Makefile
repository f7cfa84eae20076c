# klad-sim: `make run` sets everything up and runs the baseline; `make test` runs the tests
# (on all cores; `make test-fast`: the quick tier, without the tests marked slow or e2e; `make site`: the
# documentation site, README.md and docs/, built by mkdocs into site/).
# A Python >= 3.12 is found on PATH or under pyenv; set PYTHON=/path/to/python3.12 to choose one.
# The libraries are installed at the versions of requirements.lock (with their hashes), the versions the
# published results were made with; `make clean venv LOCK=` installs the newest that pyproject.toml allows
# instead, and `make lock` writes the lock anew from pyproject.toml.

VENV    ?= .venv
PY       = $(VENV)/bin/python
STAMP    = $(VENV)/.installed
LOCK    ?= requirements.lock

FIND_PYTHON = for c in "$$PYTHON" python3.13 python3.12 python3 \
	  $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 \
	  /root/.pyenv/versions/3.13*/bin/python3 /root/.pyenv/versions/3.12*/bin/python3; do \
	  [ -n "$$c" ] || continue; \
	  p=$$(command -v "$$c" 2>/dev/null) || continue; \
	  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$$p"; exit 0; }; \
	done; echo "klad-sim needs Python >= 3.12: install one or set PYTHON=/path/to/python3.12" >&2; exit 1

.PHONY: run test test-fast venv bench lint format docs site lock clean

$(STAMP): pyproject.toml $(LOCK)
	@py=$$($(FIND_PYTHON)) && echo "using $$py" && "$$py" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
ifneq ($(strip $(LOCK)),)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
else
	$(PY) -m pip install --quiet -e ".[dev]"
endif
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/klad run scenarios/baseline.toml --reps 4 --days 730
	@echo "klad is installed in $(VENV): run 'source $(VENV)/bin/activate' to put it on your PATH (or call $(VENV)/bin/klad)"

test: $(STAMP)
	$(PY) -m pytest -q -n auto

test-fast: $(STAMP)
	$(PY) -m pytest -q -n auto -m "not slow and not e2e"

bench: $(STAMP)
	$(PY) benchmarks/bench_speed.py

lint: $(STAMP)
	$(VENV)/bin/ruff check sim tests benchmarks docs/hooks.py
	$(VENV)/bin/ruff format --check sim tests benchmarks docs/hooks.py
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format sim tests benchmarks docs/hooks.py
	$(VENV)/bin/ruff check --fix sim tests benchmarks docs/hooks.py

docs: $(STAMP)
	$(PY) -m sim.params
	$(PY) -m sim.model.metrics
	$(PY) -c "from pathlib import Path; from sim.reporting.docs import replace_table; p = Path('docs/ODD.md'); p.write_text(replace_table(p.read_text()))"

site: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site
	@echo "the documentation site is in site/: open site/index.html, or run $(VENV)/bin/mkdocs serve"

lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.12 --generate-hashes \
	  -o requirements.lock

clean:
	rm -rf $(VENV) results/*/ site/
