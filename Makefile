# Every target bootstraps what it needs (a local .venv from constraints.txt); a fresh clone needs nothing else.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bootstrapped
export PYTHONPATH := $(CURDIR)

.PHONY: demo test check generate bench bindings test-bindings conformance compat bootstrap lint typecheck clean ui-screenshot

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap.sh tools/azurite/package-lock.json
	PYTHON=$(PYTHON) VENV=$(VENV) scripts/bootstrap.sh

bootstrap: $(STAMP)

## demo: the main job: record a run (params, metrics, tags, artifacts) and print it; ./mlruns unless MLFLOW_TRACKING_URI is set
demo: $(STAMP)
	$(BIN)/python -m examples.quickstart

## test: every test (unit, codegen, interop with a real `mlflow server`)
test: $(STAMP)
	$(BIN)/python -m pytest

## check: lint, strict types on hand-written code, drift between spec/ and generated files
check: lint typecheck
	$(BIN)/python -m codegen --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## generate: regenerate spec/openapi.yaml and the generated Python layer from spec/*.proto
generate: $(STAMP)
	$(BIN)/python -m codegen

## bench: benchmarks against protobuf json_format / the official client, printed as ratios
bench: $(STAMP)
	$(BIN)/python -m bench.generated_layer
	$(BIN)/python -m bench.client
	$(BIN)/python -m bench.registry
	$(BIN)/python -m bench.search_frame
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.async_client
	$(BIN)/python -m bench.stub_server
	$(BIN)/python -m bench.file_store
	$(BIN)/python -m bench.artifacts --big-mb 1024
	$(BIN)/python -m bench.async_logging
	$(BIN)/python -m bench.sync
	$(BIN)/python -m bench.stores --big-mb 200 --rtt-ms 0,10

## conformance: check the server at URL= (default: the bundled stub) against the contract; writes conformance-report.md
conformance: $(STAMP)
	$(BIN)/python -m conformance_tests $(if $(URL),--url $(URL)) --report conformance-report.md

## compat: our client's interop tests against MLflow 2.22, 3.11 and 3.18, then the README's conformance matrix (stub, those, this venv's MLflow, FastTrackML, mlflow-go-backend); venvs in .cache/compat; ARGS= passes options to scripts/compat.py
compat: $(STAMP)
	$(BIN)/python scripts/compat.py $(ARGS)

## bindings: regenerate the Java and R bindings from spec/ and build them (build/java, build/r-lib)
bindings: $(STAMP)
	$(BIN)/python -m codegen
	$(BIN)/python -m scripts.bindings build

## test-bindings: the Java and R workflows against MLFLOW_TRACKING_URI (the bundled stub when unset)
test-bindings: $(STAMP)
	$(BIN)/python -m scripts.bindings test

## ui-screenshot: remake docs/ui-run-page.png (the README's picture of the run page) with the UI tests' own code
ui-screenshot: $(STAMP)
	MLFLOW_CLIENT_UI_SCREENSHOT=docs/ui-run-page.png $(BIN)/python -m pytest tests/ui/test_readme_screenshot.py -p no:cacheprovider -q

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
