# homeserver.synapse: the two commands a fresh Debian machine needs.
#   make demo   deploy the whole stack into a local systemd container and print how to reach it
#   make test   lint, ansible-test sanity, unit tests, collection build, every molecule scenario
# Both install what they need (virtualenv from requirements.txt, Debian's docker.io and fail2ban, the base
# image).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTIONS := $(CURDIR)/.cache/collections
LINK := $(COLLECTIONS)/ansible_collections/homeserver/synapse
HS_CACHE_DIR ?= /var/cache/homeserver-synapse
# Every scenario by default; `make molecule SCENARIOS="default admin_modules"` runs a few, HS_PARALLEL at once
# (default 2; tests/harness/run_scenarios.py). Each scenario's release is the `# release:` line of its molecule.yml.
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export HS_CACHE_DIR
export PY_COLORS := 1
export ANSIBLE_FORCE_COLOR := 1

.PHONY: help
help:
	@echo "make demo   - deploy the whole stack into a local demo container"
	@echo "make test   - lint, sanity, unit tests, collection build and every molecule scenario"
	@echo "other targets: venv lint sanity unit build changelog molecule bench-deploy demo-destroy clean"

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed $(LINK)

# The checkout is the collection: link it where Ansible looks for homeserver.synapse.
$(LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

.PHONY: docker
docker:
	tests/harness/ensure_docker.sh
	mkdir -p $(HS_CACHE_DIR)/apt/partial $(HS_CACHE_DIR)/pip

.PHONY: lint
lint: venv
	yamllint --strict .
	ansible-lint --profile production

# The unit tests run the fail2ban filter through the real fail2ban-regex (Debian's fail2ban).
.PHONY: fail2ban-regex
fail2ban-regex:
	tests/harness/ensure_fail2ban.sh

.PHONY: unit
unit: venv fail2ban-regex
	pytest -q -n auto tests/unit

# ansible-test sanity, the checks every Galaxy collection runs (tests/harness/sanity.sh).
.PHONY: sanity
sanity: venv
	tests/harness/sanity.sh

# A release: the fragments in changelogs/fragments become CHANGELOG.md for galaxy.yml's version
# (docs/releasing.md). Consumes the fragments; commit the result with the version bump.
.PHONY: changelog
changelog: venv
	antsibull-changelog release

.PHONY: build
build: venv
	rm -rf .cache/build
	ansible-galaxy collection build --output-path .cache/build .
	tests/harness/check_artifact.sh .cache/build/homeserver-synapse-*.tar.gz

.PHONY: molecule
molecule: venv docker
	images=$$(tests/harness/images.sh); export $$images; tests/harness/run_scenarios.py $(SCENARIOS)

# The images (debootstrap, wheelhouse: minutes on a fresh machine, mostly waiting on the network) are made in
# the background while lint, sanity, the unit tests and the build keep the cores busy. lint and sanity run
# side by side (each mostly on one core; their output is kept apart), then the unit tests on both cores.
.PHONY: test
test: venv docker
	@echo ">> making the test images in the background (log: .cache/images.log)"
	tests/harness/images.sh >.cache/images.env 2>.cache/images.log & images=$$!; \
	trap 'kill $$images 2>/dev/null || true' EXIT; \
	$(MAKE) --no-print-directory -j2 --output-sync=target lint sanity; \
	$(MAKE) --no-print-directory unit build; \
	echo ">> waiting for the test images"; \
	if ! wait $$images; then cat .cache/images.log; exit 1; fi; \
	trap - EXIT; cat .cache/images.log; \
	$(MAKE) --no-print-directory molecule

.PHONY: demo
demo: venv docker
	tests/harness/demo.sh

.PHONY: demo-destroy
demo-destroy:
	docker rm -f homeserver-demo

.PHONY: bench-deploy
bench-deploy: venv docker
	bench/deploy

.PHONY: clean
clean:
	rm -rf .cache .pytest_cache
