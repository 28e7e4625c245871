# ERP5SyncML for Zope 6 -- install, test and demo.
#
#   make venv         .venv with Zope and the products (editable, compat mode)
#   make system-deps  Debian packages the product and its tests need
#   make test         the whole test suite (unit + functional against a real Zope,
#                     + a short run of tests/faults: 1 kill trial of each kind, 100 objects)
#   make test-faults  the fault trials only, long: FAULT_TRIALS=20 kills of the client
#                     and of the master (FAULT_OBJECTS=1000), and 20 of each message
#                     fault, stale replay, concurrent edits and full disk
#                     (FAULT_MESSAGE_OBJECTS, 60)
#   make demo         a Zope with the sites cps and cps_client on 127.0.0.1:9673
#   make bench        the synchronization benchmark (BENCH_ARGS=--quick for a check)
#   make clean        remove var/ (demo instance); make distclean also the venv

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        := .venv
VPY         := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
# Extra Debian packages go here (postfix, ...).
APT_PACKAGES ?= gnupg postfix libwbxml2-utils syncevolution syncevolution-http \
	syncevolution-libs syncevolution-dbus dbus python3-twisted python3-dbus \
	python3-gi python3-openssl dbus-x11 chromium
PYTEST_ARGS ?=
DEMO_ARGS   ?=
BENCH_ARGS  ?=

export PIP_NO_INPUT := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Zope 6 needs Python >= 3.11: prefer python3.11, else python3 if recent enough.
PYTHON ?= $(shell \
	if command -v python3.11 >/dev/null 2>&1; then echo python3.11; \
	elif python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo python3; \
	fi)

# sudo only when not root (CI runs as root).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv system-deps test test-faults demo bench clean distclean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

venv: $(STAMP)

# editable_mode=compat: Zope finds products through the Products namespace
# path, which the default (import hook) editable mode does not provide.

$(STAMP): requirements.txt constraints.txt setup.py
	@if [ -z "$(PYTHON)" ]; then echo "Python >= 3.11 is required (python3.11 or python3)" >&2; exit 1; fi
	@if [ ! -x $(VPY) ]; then echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	$(VPY) -m pip install -q -U pip setuptools wheel
	$(VPY) -m pip install -q -r requirements.txt -c constraints.txt
	$(VPY) -m pip install -q -e . -c constraints.txt --config-settings editable_mode=compat
	touch $@

system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		echo 'postfix postfix/main_mailer_type select Local only' | $(SUDO) debconf-set-selections; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

test: venv system-deps
	$(VPY) -m pytest -q --timeout=300 $(PYTEST_ARGS) tests

FAULT_TRIALS  ?= 20
FAULT_OBJECTS ?= 1000

test-faults: venv system-deps
	FAULT_TRIALS=$(FAULT_TRIALS) FAULT_OBJECTS=$(FAULT_OBJECTS) \
		$(VPY) -m pytest -q -s --timeout=900 -m faults $(PYTEST_ARGS) tests/faults

demo: venv system-deps
	$(VPY) scripts/demo.py $(DEMO_ARGS)

bench: venv system-deps
	$(VPY) bench/deployed_bench.py $(BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache/

distclean: clean
	rm -rf $(VENV) build/ dist/ *.egg-info
