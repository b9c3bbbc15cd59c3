# Outpost: the two commands a new machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the registry tests and the hub's browser test use.
SYSTEM_TOOLS := docker-registry skopeo htpasswd chromium

.PHONY: install system-deps binaries test unit demo demo-down sample-bundle bench clean

$(BIN)/outpost: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/outpost

system-deps:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages for:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      docker-registry skopeo apache2-utils chromium >/dev/null; \
	  else echo "missing tools:$$missing (Debian: apt-get install docker-registry skopeo apache2-utils chromium); their tests will be skipped"; fi; \
	fi

binaries: install
	$(BIN)/outpost dev build
	$(BIN)/outpost dev tools

test: install system-deps binaries
	OUTPOST_HELM="$$($(BIN)/outpost dev build)/helm" $(BIN)/pytest

unit: install
	$(BIN)/pytest -m "not cluster and not registry"

demo: install system-deps binaries
	$(BIN)/python -m examples.demo

demo-down: install
	$(BIN)/python -m examples.demo down

sample-bundle: install
	$(BIN)/python -m bundle.sample out/sample

bench: install binaries system-deps
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
