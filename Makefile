# kubebin.cluster developer and CI entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTIONS := $(CURDIR)/.cache/collections
VERSION := $(shell awk '/^version:/ {print $$2}' galaxy.yml)
TARBALL := kubebin-cluster-$(VERSION).tar.gz

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export KUBEBIN_COLLECTIONS_ROOT := $(COLLECTIONS)
# Tools (ansible-lint, molecule) may install copies of this collection under ANSIBLE_HOME: keep
# them inside the tree, so no stale copy in the user's home can shadow the code under test.
export ANSIBLE_HOME := $(CURDIR)/.cache/ansible-home
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: help test sandbox sandbox-destroy venv collection docker image bundle test-tools unit lint sanity build molecule clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

test: venv collection docker bundle test-tools unit lint sanity build image molecule ## everything CI runs, in order
	@echo "make test: all stages passed"

sandbox: venv collection docker image bundle ## start the 5 systemd hosts and run site.yml against them (kept running)
	cd $(CURDIR) && molecule converge -s default
	@echo "hosts are up: docker exec -it kubebin-default-cp1 bash; make sandbox-destroy to remove them"

sandbox-destroy: venv collection ## remove the sandbox hosts
	cd $(CURDIR) && molecule destroy -s default

venv: $(VENV)/.installed ## virtualenv with the pinned test toolchain

$(VENV)/.installed: requirements-test.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

collection: ## expose this tree as ansible_collections/kubebin/cluster
	mkdir -p $(COLLECTIONS)/ansible_collections/kubebin
	ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/kubebin/cluster

docker: ## install and start the Docker engine when it is not running
	tests/image/ensure-docker.sh

image: docker ## build the systemd test-host image (cached)
	tests/image/build.sh

unit: venv collection ## unit and functional tests (pytest, real openssl/kubectl/etcd; real containerd 2.x once `make bundle` ran)
	$(BIN)/pytest -q -p no:cacheprovider -n auto --dist loadfile tests/unit

lint: venv collection ## ansible-lint, production profile
	$(BIN)/ansible-lint --profile production

sanity: venv docker ## ansible-test sanity in a temporary ansible_collections tree
	tests/sanity.sh

build: venv ## build the collection tarball and run galaxy-importer on it
	rm -f $(TARBALL)
	$(BIN)/ansible-galaxy collection build --force .
	tests/galaxy-importer.sh $(TARBALL)

bundle: venv docker ## the test bundle: every binary built from its upstream Go module, images built locally (cached outside the clone)
	$(BIN)/python tests/bundle/build_test_bundle.py $(CURDIR)/.cache/test-bundle

test-tools: venv ## tools only the tests run (kube-bench), built from their Go modules (cached outside the clone)
	$(BIN)/python tests/bundle/build_test_tools.py $(CURDIR)/.cache/test-tools

molecule: venv collection image bundle test-tools ## molecule scenarios on systemd hosts in containers
	molecule test -s bad_input
	molecule test -s default
	molecule test -s tls_bootstrap
	molecule test -s etcd

clean: ## remove the virtualenv, caches and built tarballs
	rm -rf $(VENV) .cache kubebin-cluster-*.tar.gz
