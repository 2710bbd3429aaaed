"""The README's curl walk-through, run as written against a running stack.

Usage: check_walkthrough.py API_URL MOTO_PORT
Runs the README's first `sh` block that starts with `API=` (with API and
`make mail`'s moto port pointed at the given stack) and fails when a step
answers an error or a step's expected answer is missing.
"""

import os
import re
import subprocess
import sys

EXPECTED = [
    '"message":"email verified"',
    '"message":"2FA enabled"',
    '"factor":{',
    '"message":"2FA verified"',
    '"requires2FA":false',
    '"amr":["pwd","device"]',
    '"devices":[{',
    '"requires2FASetup":false',
    '"message":"refreshed"',
    '"message":"reauthenticated"',
    '"message":"password reset"',
    '"message":"2FA disabled"',
    '"message":"email changed"',
    '"message":"account deleted"',
    '"jwks_uri"',
]

# The one error the walk-through shows on purpose: the deleted account's password.
EXPECTED_ERRORS = ['"error":"invalid_credentials"']


def main(api_url: str, moto_port: str) -> int:
    readme = open("README.md", encoding="utf-8").read()
    block = re.search(r"```sh\n(API=.*?)```", readme, re.S)
    if not block:
        print("no walk-through (a ```sh block starting with API=) in README.md")
        return 1
    script = re.sub(r"^API=.*$", f"API={api_url}", block.group(1), count=1, flags=re.M)
    run = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "MOTO_PORT": moto_port},
        timeout=120,
    )
    output = run.stdout + run.stderr
    problems = [f"exit status {run.returncode}"] if run.returncode else []
    errors = re.findall(r'"error":"[a-z_]+"', output)
    for allowed in EXPECTED_ERRORS:
        if allowed in errors:
            errors.remove(allowed)
        else:
            problems.append(f"missing, the error the walk-through ends with: {allowed}")
    problems += [f"an error answer: {e}" for e in errors]
    position = 0
    for expected in EXPECTED:
        found = output.find(expected, position)
        if found < 0:
            problems.append(f"missing, in order: {expected}")
        else:
            position = found
    if problems:
        print(output)
        print("\n".join(problems))
        return 1
    print(f"the README's walk-through: {len(EXPECTED)} steps answered as it says")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
