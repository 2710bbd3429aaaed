"""No circular reference among the template's resources once SAM has expanded
it. cfn-lint and `sam validate` do not see the one that SAM's generated HTTP
API makes: its definition names every function, so a function that names
anything built on the API (a CloudFront origin, say) closes a loop that only
`sam deploy` reports. Exits 1, naming the loop.

Usage: python scripts/check_template_cycles.py TEMPLATE
"""

import json
import os
import re
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self) -> dict:
        return {}


def references(resource: dict, names: set[str]) -> set[str]:
    text = json.dumps(resource)
    found = set(re.findall(r'"Ref": "(\w+)"', text))
    found |= set(re.findall(r'"Fn::GetAtt": \["(\w+)"', text))
    found |= set(re.findall(r"\$\{(\w+)[.}]", text))
    depends = resource.get("DependsOn", [])
    found |= {depends} if isinstance(depends, str) else set(depends)
    return found & names


def main() -> None:
    template = yaml_parse(open(sys.argv[1]).read())
    # The translator wants code in S3; where it is does not change references.
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/key"
    # The translator wants a region for its pseudo parameters; which one does
    # not change references either (it runs offline, with no AWS config).
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION") or "us-east-1")
    resources = transform(template, {}, NoManagedPolicies())["Resources"]
    graph = {name: references(resource, set(resources)) for name, resource in resources.items()}
    visiting, done = set(), set()

    def visit(name: str, path: list[str]) -> None:
        visiting.add(name)
        for target in sorted(graph[name]):
            if target in visiting:
                sys.exit("circular reference: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in done:
                visit(target, path + [target])
        visiting.discard(name)
        done.add(name)

    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    print(f"{sys.argv[1]}: no circular reference among {len(resources)} resources")


if __name__ == "__main__":
    main()
