"""`make mail`: the newest mail that the local stack sent (moto's SES keeps
every message it accepted at /moto-api/data.json), with the links in it.

Usage: python scripts/mail.py [COUNT] [ENDPOINT]   (default: 5 messages from
moto of `make dev`, http://127.0.0.1:5050)
"""

import html
import json
import re
import sys
import urllib.request


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    endpoint = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:5050"
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10) as response:
            data = json.load(response)
    except OSError as error:
        sys.exit(f"no local stack at {endpoint} ({error}): start it with `make dev`")
    messages = data.get("ses", {}).get("Message", [])
    if not messages:
        print("no mail yet")
        return
    for message in messages[-count:]:
        destinations = message.get("destinations", {})
        to = ", ".join(destinations.get("ToAddresses", []))
        print(f"To:      {to}")
        print(f"Subject: {message.get('subject', '')}")
        for link in re.findall(r'href="([^"]+)"', message.get("body", "")):
            print(f"Link:    {html.unescape(link)}")
        print()


if __name__ == "__main__":
    main()
