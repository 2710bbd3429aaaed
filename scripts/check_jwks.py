"""An access token checked by a verifier nobody here wrote: PyJWT reads the
running API's OpenID discovery document, follows its `jwks_uri`, and verifies
a real access token (signature, issuer, audience, expiry); a token signed by a
key that is not in the set, and one for another audience, are refused.

Usage: python scripts/check_jwks.py BASE_URL
"""

import http.cookies
import json
import sys
import time
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def post(url: str, body: dict) -> dict[str, str]:
    """POSTs JSON; returns the cookies the answer sets."""
    request = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    with urllib.request.urlopen(request) as response:
        cookies = http.cookies.SimpleCookie()
        for line in response.headers.get_all("set-cookie") or []:
            cookies.load(line)
        return {name: morsel.value for name, morsel in cookies.items()}


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def refused(token: str, key, **expected) -> bool:
    try:
        jwt.decode(token, key, algorithms=["RS256"], **expected)
    except jwt.InvalidTokenError:
        return True
    return False


def main() -> None:
    base = sys.argv[1].rstrip("/")
    credentials = {"email": f"pyjwt-{uuid.uuid4().hex}@example.com", "password": "correct horse battery staple"}
    post(f"{base}/auth/register", credentials)
    token = post(f"{base}/auth/login", credentials)["access_token"]

    discovery = get_json(f"{base}/.well-known/openid-configuration")
    issuer, audience = discovery["issuer"], "twofa"
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
    )
    me = json.loads(urllib.request.urlopen(
        urllib.request.Request(f"{base}/auth/me", headers={"authorization": f"Bearer {token}"})
    ).read())
    if claims["sub"] != me["id"] or not 0 < claims["exp"] - time.time() <= 15 * 60:
        sys.exit(f"check_jwks: FAILED: the verified claims are not the user's or not a 15-minute token: {claims}")

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": key.key_id, "typ": "at+jwt"})
    checks = {
        "a token signed by a key not in the set": refused(forged, key, audience=audience, issuer=issuer),
        "a token for another audience": refused(token, key, audience="another-api", issuer=issuer),
        "a token from another issuer": refused(token, key, audience=audience, issuer="https://elsewhere.example"),
    }
    for what, was_refused in checks.items():
        if not was_refused:
            sys.exit(f"check_jwks: FAILED: PyJWT accepted {what}")
    print(f"check_jwks: PyJWT {jwt.__version__} verified an access token of {issuer} from {discovery['jwks_uri']} "
          f"(kid {key.key_id}); refused {', '.join(checks)}")


if __name__ == "__main__":
    main()
