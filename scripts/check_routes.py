"""The routes of the contract (API.md) are served by the same function in the
SAM template, in the `cargo lambda watch` router and in the OpenAPI file.

Usage: python scripts/check_routes.py [template] [Cargo.toml] [openapi.yaml]
Exits 1, naming every difference, when a route is missing or they disagree.
"""

import os
import sys
import tomllib

import yaml

# The routes of API.md, each with the function that serves it.
CONTRACT = {
    ("POST", "/auth/register"): "register",
    ("POST", "/auth/login"): "login",
    ("POST", "/auth/2fa/verify-login"): "twofa-verify-login",
    ("POST", "/auth/2fa/setup"): "twofa-setup",
    ("POST", "/auth/2fa/enable"): "twofa-enable",
    ("POST", "/auth/2fa/disable"): "twofa-disable",
    ("GET", "/auth/2fa/status"): "twofa-status",
    ("POST", "/auth/2fa/backup-codes"): "twofa-backup-codes",
    ("POST", "/auth/refresh"): "refresh",
    ("POST", "/auth/logout"): "logout",
    ("POST", "/auth/logout-all"): "logout-all",
    ("GET", "/auth/me"): "me",
    ("GET", "/auth/audit"): "audit",
    ("POST", "/auth/email/verify"): "email-verify",
    ("POST", "/auth/email/resend"): "email-resend",
    ("POST", "/auth/email/change"): "email-change",
    ("POST", "/auth/account/delete"): "account-delete",
    ("POST", "/auth/password/forgot"): "password-forgot",
    ("POST", "/auth/password/reset"): "password-reset",
    ("POST", "/auth/password/change"): "password-change",
    ("GET", "/auth/factors"): "factors-list",
    ("POST", "/auth/factors/rename"): "factors-rename",
    ("POST", "/auth/factors/remove"): "factors-remove",
    ("POST", "/auth/factors/passkey/options"): "passkey-options",
    ("POST", "/auth/factors/passkey"): "passkey-register",
    ("POST", "/auth/2fa/challenge"): "twofa-challenge",
    ("POST", "/auth/passkey/options"): "passkey-signin-options",
    ("POST", "/auth/passkey/login"): "passkey-login",
    ("POST", "/auth/reauthenticate"): "reauthenticate",
    ("GET", "/auth/sessions"): "sessions-list",
    ("POST", "/auth/sessions/revoke"): "sessions-revoke",
    ("GET", "/auth/devices"): "devices-list",
    ("POST", "/auth/devices/forget"): "devices-forget",
    ("GET", "/.well-known/jwks.json"): "jwks",
    ("GET", "/.well-known/openid-configuration"): "openid-configuration",
}


class CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !GetAtt, !Sub and friends as plain values."""


def _any_tag(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


CloudFormationLoader.add_multi_constructor("!", _any_tag)


def template_routes(path):
    with open(path) as f:
        template = yaml.load(f, Loader=CloudFormationLoader)
    routes = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary", f"<{name} names no binary>")
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                routes[(props["Method"].upper(), props["Path"])] = binary
    return routes


def router_routes(path):
    with open(path, "rb") as f:
        cargo = tomllib.load(f)
    router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
    return {(r["method"].upper(), p): r["function"] for p, rules in router.items() for r in rules}


def openapi_routes(path):
    with open(path) as f:
        spec = yaml.safe_load(f)
    methods = {"get", "post", "put", "patch", "delete"}
    return {(m.upper(), p): None for p, item in spec["paths"].items() for m in item if m in methods}


def differences(name, found, with_functions):
    problems = []
    for route, function in sorted(CONTRACT.items()):
        if route not in found:
            problems.append(f"{name}: {' '.join(route)} is missing")
        elif with_functions and found[route] != function:
            problems.append(f"{name}: {' '.join(route)} is served by {found[route]}, not {function}")
    for route in sorted(set(found) - set(CONTRACT)):
        problems.append(f"{name}: {' '.join(route)} is not a route of the contract")
    return problems


def main():
    template, cargo, openapi = (sys.argv[1:4] + ["infra/template.yaml", "Cargo.toml", "openapi.yaml"][len(sys.argv) - 1 :])[:3]
    problems = (
        differences(template, template_routes(template), True)
        + differences(cargo, router_routes(cargo), True)
        + differences(openapi, openapi_routes(openapi), False)
    )
    for function in sorted(set(CONTRACT.values())):
        if not os.path.isfile(os.path.join("functions", function, "Cargo.toml")):
            problems.append(f"functions/{function}: no such crate")
    if problems:
        print("routes disagree:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print(f"{len(CONTRACT)} routes: the template, the router and the OpenAPI file agree with the contract")


if __name__ == "__main__":
    main()
