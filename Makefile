# Plain targets for a fresh machine: `make demo` upscales the bundled sample, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench app bundle clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/vrt-upscale assets/sample/sample.mp4 out/sample_x4.mp4 --overwrite
	$(BIN)/vrt-upscale assets/sample/sample.mp4 --preview-frame 12 --preview-out out/sample_compare.png

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/model_speed.py

app: $(STAMP)
	$(BIN)/vrt-upscaler

clean:
	rm -rf $(VENV) build dist *.egg-info out
