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
	mkdir -p out
	$(BIN)/vrt-upscale assets/sample/sample.mp4 -o out/sample_x4.mp4 --overwrite
	$(BIN)/vrt-upscale assets/sample/sample.mp4 --preview-frame 12 --preview-out out/sample_compare.png

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q --durations=15

bench: $(STAMP)
	$(BIN)/python bench/model_speed.py

app: $(STAMP)
	$(BIN)/vrt-upscaler

# One-folder PyInstaller bundle in dist/vrt-upscaler/ (vrt-upscaler + vrt-upscale); slow, not part of CI.
bundle: $(STAMP)
	$(BIN)/python -c "import PyInstaller" 2>/dev/null || $(BIN)/pip install --quiet pyinstaller
	nice -n 10 $(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/vrt-upscaler.spec
	nice -n 10 $(BIN)/python -m compileall -q -j 2 dist/vrt-upscaler/_internal/mindspore dist/vrt-upscaler/_internal/vrt_engine
	dist/vrt-upscaler/vrt-upscale --version

clean:
	rm -rf $(VENV) build dist *.egg-info out
