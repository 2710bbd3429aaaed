# The two commands of the README, and the lifecycle targets around them.
# Needs only a Rust toolchain and python3: everything else goes into .venv.

SHELL := /usr/bin/env bash
VENV := .venv
TOOLS := $(VENV)/.installed

.PHONY: dev test bench prove-conditions build deploy tools lock clean grant-admin revoke-admin reset-2fa mail

## make dev: the local stack at http://127.0.0.1:9000 (Ctrl-C stops it)
dev: $(TOOLS)
	scripts/dev.sh

## make test: fmt, clippy, unit, handler and end-to-end tests
test: $(TOOLS)
	scripts/test.sh

## make bench: Rust beside the Node tutorial, one table (not part of make test; see BENCHMARKS.md)
bench: $(TOOLS)
	scripts/bench.sh

## make prove-conditions: each race test fails when its DynamoDB condition is weakened
prove-conditions: $(TOOLS)
	scripts/prove-conditions.sh

## make build: sam build (release, x86_64 by default) into .aws-sam/
build: $(TOOLS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam build

## make deploy: sam deploy --guided (asks for the stack's parameters; saves them to samconfig.toml)
deploy: build
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam deploy --guided

## make grant-admin|revoke-admin|reset-2fa EMAIL=... [TABLE=...]: operator commands
## (without TABLE: the local stack of `make dev`; with it: that table in AWS)
grant-admin revoke-admin reset-2fa:
	scripts/authctl.sh $@ "$(EMAIL)" "$(TABLE)"

## make mail [N=5]: the newest mail the local stack of `make dev` sent, with its links
mail: $(TOOLS)
	$(VENV)/bin/python scripts/mail.py $(or $(N),5) http://127.0.0.1:$(or $(MOTO_PORT),5050)

## make tools: the pinned Python tools in the project's own virtualenv
tools: $(TOOLS)

$(TOOLS): requirements-dev.txt constraints-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints-dev.txt
	touch $@

## make lock: re-pin everything the tools pull in (after changing requirements-dev.txt)
lock:
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip freeze > constraints-dev.txt
	touch $(TOOLS)

clean:
	rm -rf $(VENV) .local .aws-sam target
