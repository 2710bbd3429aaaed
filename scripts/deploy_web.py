"""`make deploy`, after `sam deploy`: the web front end into its stack.

1. The functions take the front end's origins from the AllowedOrigins and
   WebBaseUrl parameters (the template explains why not from the
   distribution itself). When AllowedOrigins lacks the CloudFront URL (the
   first deploy), it is added, the other origins kept; an empty WebBaseUrl
   becomes the CloudFront URL. The stack is updated with them, everything
   else as it was, and the same values replace those that `sam deploy
   --guided` saved in samconfig.toml: otherwise the next `make deploy` would
   put its saved ones back, and mailed links would lead nowhere until this
   script ran again.
2. The built app (web/dist) is uploaded to the stack's private bucket:
   index.html revalidated on every visit, the hashed assets cached for a year;
   files no longer in the build are removed. Then CloudFront is invalidated.

Usage: python scripts/deploy_web.py STACK_NAME [BUILD_DIR] [SAMCONFIG]
Uses your ordinary AWS credentials and region.
"""

import mimetypes
import shlex
import sys
import time
from pathlib import Path

import boto3
import tomlkit

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]


def outputs_and_parameters(cloudformation, stack: str) -> tuple[dict, dict]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    return outputs, parameters


def front_end_parameters(parameters: dict, web_url: str) -> dict:
    """AllowedOrigins with the CloudFront URL added (the others kept, in their
    order), and WebBaseUrl the CloudFront URL unless one is set."""
    if "AllowedOrigins" not in parameters:
        sys.exit("the stack has no AllowedOrigins parameter: deploy the current template first (sam deploy)")
    origins = [o.strip() for o in parameters["AllowedOrigins"].split(",") if o.strip()]
    if web_url not in origins:
        origins.append(web_url)
    return {"AllowedOrigins": ",".join(origins), "WebBaseUrl": parameters.get("WebBaseUrl") or web_url}


def point_functions_at(cloudformation, stack: str, parameters: dict, wanted: dict) -> None:
    if all(parameters.get(key) == value for key, value in wanted.items()):
        return
    print(f"setting AllowedOrigins to {wanted['AllowedOrigins']} and WebBaseUrl to {wanted['WebBaseUrl']}")
    cloudformation.update_stack(
        StackName=stack,
        UsePreviousTemplate=True,
        Capabilities=CAPABILITIES,
        Parameters=[
            {"ParameterKey": key, "ParameterValue": wanted[key]} if key in wanted
            else {"ParameterKey": key, "UsePreviousValue": True}
            for key in parameters
        ],
    )
    cloudformation.get_waiter("stack_update_complete").wait(StackName=stack)


def sam_quoted(value: str) -> str:
    """A value as `sam deploy --guided` writes it into parameter_overrides."""
    return '"{}"'.format(value.replace('"', '\\"'))


def remember_in_samconfig(path: Path, wanted: dict) -> None:
    """Replaces the values of `wanted` among the parameter overrides that
    `sam deploy --guided` saved (a string of Key="value" pairs, as SAM writes
    it, or a list of Key=value strings); keys it did not save stay unsaved."""
    if not path.is_file():
        return
    config = tomlkit.parse(path.read_text())
    deploy = config.get("default", {}).get("deploy", {}).get("parameters", {})
    saved = deploy.get("parameter_overrides")
    if saved is None:
        return
    items = list(saved) if isinstance(saved, list) else shlex.split(str(saved))
    pairs = [item.split("=", 1) for item in items if "=" in item]
    overrides = {key: value for key, value in pairs}
    if all(overrides.get(key, value) == value for key, value in wanted.items()):
        return
    overrides.update({key: value for key, value in wanted.items() if key in overrides})
    if isinstance(saved, list):
        deploy["parameter_overrides"] = [f"{key}={value}" for key, value in overrides.items()]
    else:
        deploy["parameter_overrides"] = " ".join(f"{key}={sam_quoted(value)}" for key, value in overrides.items())
    path.write_text(tomlkit.dumps(config))
    print(f"saved them in {path} too, for the next sam deploy")


def upload(s3, bucket: str, build: Path) -> None:
    files = [path for path in build.rglob("*") if path.is_file()]
    for path in files:
        key = path.relative_to(build).as_posix()
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        # Angular names its bundles by content hash; index.html names them.
        cache = "no-cache" if key == "index.html" else "public, max-age=31536000, immutable"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type, "CacheControl": cache})
    kept = {path.relative_to(build).as_posix() for path in files}
    stale = [
        {"Key": obj["Key"]}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for obj in page.get("Contents", [])
        if obj["Key"] not in kept
    ]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})
    print(f"uploaded {len(files)} files to s3://{bucket}, removed {len(stale)}")


def main() -> None:
    stack = sys.argv[1]
    build = Path(sys.argv[2] if len(sys.argv) > 2 else "web/dist/twofa-web/browser")
    samconfig = Path(sys.argv[3] if len(sys.argv) > 3 else "samconfig.toml")
    cloudformation = boto3.client("cloudformation")
    outputs, parameters = outputs_and_parameters(cloudformation, stack)
    if "WebUrl" not in outputs:
        print(f"{stack} has no web front end (WebFrontEnd=false); the API is at {outputs.get('ApiUrl')}")
        return
    if not (build / "index.html").is_file():
        sys.exit(f"no built app in {build}: run `npm run build` in web/")
    web_url = outputs["WebUrl"]
    wanted = front_end_parameters(parameters, web_url)
    point_functions_at(cloudformation, stack, parameters, wanted)
    remember_in_samconfig(samconfig, wanted)
    upload(boto3.client("s3"), outputs["WebBucketName"], build)
    boto3.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
    )
    print(f"the web front end: {web_url}")


if __name__ == "__main__":
    main()
