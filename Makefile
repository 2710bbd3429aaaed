# The two commands of the README, and the lifecycle targets around them.
# Needs a Rust toolchain, python3 and Node 20 with npm: the Python tools go
# into .venv, the web front end's packages into web/node_modules (npm ci,
# pinned by web/package-lock.json), and the browser tests' Chromium comes from
# Debian's package (installed here when missing; nothing downloads a browser).

SHELL := /usr/bin/env bash
VENV := .venv
TOOLS := $(VENV)/.installed
WEB_DEPS := web/node_modules/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: dev test bench bench-sizing cost prove-conditions build deploy tools lock clean grant-admin revoke-admin reset-2fa rotate-signing-key retire-signing-key migrate-factors mail

## make dev: the web front end at http://localhost:4200, the API at http://127.0.0.1:9000 (Ctrl-C stops it)
dev: $(TOOLS) $(WEB_DEPS)
	scripts/dev.sh

## make test: fmt, clippy, unit, handler, end-to-end, schema and browser tests, template checks
test: $(TOOLS) $(WEB_DEPS) $(CHROMIUM)
	scripts/test.sh

## make bench: Rust beside the Node tutorial, one table (not part of make test; see BENCHMARKS.md)
bench: $(TOOLS)
	scripts/bench.sh

## make bench-sizing [ARGS=...]: latency and cost per memory size, Lambda's CPU share emulated by a
## cgroup CPU quota (needs root; see bench/SIZING.md)
bench-sizing: $(TOOLS)
	scripts/bench-sizing.sh $(ARGS)

## make cost [ARGS="--mau 250000 --bench .local/bench"]: the monthly bill of a stated workload from the
## per-route figures in bench/cost-inputs.json, beside Amazon Cognito's price (scripts/cost.py --help)
cost: $(TOOLS)
	$(VENV)/bin/python scripts/cost.py $(ARGS)

## make prove-conditions: each race test fails when its DynamoDB condition is weakened
prove-conditions: $(TOOLS)
	scripts/prove-conditions.sh

## make build: sam build (release, x86_64 by default) into .aws-sam/
build: $(TOOLS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam build

STACK = $$($(VENV)/bin/python -c 'import tomllib;print(tomllib.load(open("samconfig.toml","rb"))["default"]["global"]["parameters"]["stack_name"])')

## make deploy: sam deploy --guided (asks for the stack's parameters; saves them to samconfig.toml),
## then the keyring's first keys (authctl init, with your credentials: no function may create keys),
## then the web front end: built, uploaded to its bucket, CloudFront invalidated; prints its URL
deploy: build $(WEB_DEPS)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam deploy --guided
	KMS_KEY_ID=$$($(VENV)/bin/python scripts/stack_output.py $(STACK) KeyArn) \
	  scripts/authctl.sh init "" $$($(VENV)/bin/python scripts/stack_output.py $(STACK) TableName)
	cd web && npm run --silent build -- --progress=false
	$(VENV)/bin/python scripts/deploy_web.py $(STACK)

## make grant-admin|revoke-admin|reset-2fa EMAIL=... [TABLE=...]: operator commands
## (without TABLE: the local stack of `make dev`; with it: that table in AWS)
grant-admin revoke-admin reset-2fa:
	scripts/authctl.sh $@ "$(EMAIL)" "$(TABLE)"

## make rotate-signing-key [LEAD=7200] [TABLE=...]: publish the next access-token signing key;
## it signs after 5 minutes + LEAD seconds (at least 300; gateways cache key sets up to 2 hours)
rotate-signing-key:
	LEAD="$(LEAD)" scripts/authctl.sh $@ "" "$(TABLE)"

## make retire-signing-key KID=s1 [TABLE=...]: a leaked key goes now; if it was signing, a successor signs at once
retire-signing-key:
	KID="$(KID)" scripts/authctl.sh $@ "" "$(TABLE)"

## make migrate-factors [TABLE=...]: once, after upgrading a stack deployed before several factors (v3):
## each user's authenticator app moves into the factors list (idempotent)
migrate-factors:
	scripts/authctl.sh $@ "" "$(TABLE)"

## make mail [N=5]: the newest mail the local stack of `make dev` sent, with its links
mail: $(TOOLS)
	$(VENV)/bin/python scripts/mail.py $(or $(N),5) http://127.0.0.1:$(or $(MOTO_PORT),5050)

## make tools: the pinned Python tools in the project's own virtualenv
tools: $(TOOLS)

$(TOOLS): requirements-dev.txt constraints-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints-dev.txt
	touch $@

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium for the browser tests (the machines run as root).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## make lock: re-pin everything the tools pull in (after changing requirements-dev.txt)
lock:
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip freeze > constraints-dev.txt
	touch $(TOOLS)

clean:
	rm -rf $(VENV) .local .aws-sam target web/node_modules web/dist web/.angular
