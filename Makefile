# Outpost: the two commands a new machine needs are `make demo` and `make test`.
VENV   := .venv
BIN    := $(VENV)/bin
# Bundles must be read by a Python whose tarfile carries the CVE-2024-6232 fix (3.11.10+, 3.12.5+,
# or a distribution backport such as Debian 12's python3.11); detected by the module's content.
PATCHED := import sys, tarfile; sys.exit(sys.version_info < (3, 11) or not hasattr(tarfile, "_header_length_prefix_re"))
CANDIDATES := python3 python3.13 python3.12 python3.11 /usr/bin/python3 /usr/bin/python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach p,$(CANDIDATES),$(if $(shell $(p) -c '$(PATCHED)' 2>/dev/null && echo y),$(p))) python3)
endif
# Debian packages the registry tests, the hub's browser test and its PostgreSQL store tests use
# (PostgreSQL's initdb is not on PATH: it is found under /usr/lib/postgresql/<version>/bin).
SYSTEM_TOOLS := docker-registry skopeo htpasswd chromium
PG_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

.PHONY: install venv-check system-deps binaries test unit fuzz demo demo-down sample-bundle bench clean

# A venv made earlier from a flawed Python is rebuilt when a patched one is available.
venv-check:
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c '$(PATCHED)' && $(PYTHON) -c '$(PATCHED)'; then \
	  echo "$(VENV) runs a Python with the tarfile flaw CVE-2024-6232; rebuilding it with $(PYTHON)"; \
	  rm -rf $(VENV); fi
	@$(PYTHON) -c '$(PATCHED)' || echo "warning: no Python with the CVE-2024-6232 fix found;" \
	  "bundle verification refuses to run (see README, Requirements)"

$(BIN)/outpost: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: venv-check $(BIN)/outpost

system-deps:
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	[ -n "$(PG_INITDB)" ] || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages for:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      docker-registry skopeo apache2-utils chromium postgresql >/dev/null; \
	  else echo "missing tools:$$missing (Debian: apt-get install docker-registry skopeo apache2-utils chromium postgresql); their tests will be skipped or fail"; fi; \
	fi

binaries: install
	$(BIN)/outpost dev build
	$(BIN)/outpost dev tools

test: install system-deps binaries
	OUTPOST_HELM="$$($(BIN)/outpost dev build)/helm" $(BIN)/pytest

unit: install
	$(BIN)/pytest -m "not cluster and not registry"

# The fuzz properties with fresh seeds, over and over, for OUTPOST_FUZZ_SECONDS (default: 1 hour).
FUZZ_SECONDS ?= $(or $(OUTPOST_FUZZ_SECONDS),3600)
fuzz: install
	@end=$$(( $$(date +%s) + $(FUZZ_SECONDS) )); runs=0; \
	while [ $$(date +%s) -lt $$end ]; do \
	  OUTPOST_FUZZ_EXAMPLES=$${OUTPOST_FUZZ_EXAMPLES:-2000} $(BIN)/pytest tests/fuzz -q -p no:cacheprovider \
	    --hypothesis-seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ') -x || exit 1; \
	  runs=$$((runs + 1)); done; echo "fuzz: $$runs rounds, no failure"

demo: install system-deps binaries
	$(BIN)/python -m examples.demo

demo-down: install
	$(BIN)/python -m examples.demo down

# The demo's own sample: signed with throwaway keys, its multi-arch images inside the bundle.
sample-bundle: install
	$(BIN)/python -m examples.demo_airgap out/sample

bench: install binaries system-deps
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
