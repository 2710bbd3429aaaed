"""`make deploy`, after `sam deploy`: the web front end into its stack.

1. The functions take the front end's origin from the AllowedOrigin and
   WebBaseUrl parameters (the template explains why not from the
   distribution itself). When they are not yet the CloudFront URL (the first
   deploy), the stack is updated with them, everything else as it was.
2. The built app (web/dist) is uploaded to the stack's private bucket:
   index.html revalidated on every visit, the hashed assets cached for a year;
   files no longer in the build are removed. Then CloudFront is invalidated.

Usage: python scripts/deploy_web.py STACK_NAME [BUILD_DIR]
Uses your ordinary AWS credentials and region.
"""

import mimetypes
import sys
import time
from pathlib import Path

import boto3

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]


def outputs_and_parameters(cloudformation, stack: str) -> tuple[dict, dict]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    return outputs, parameters


def point_functions_at(cloudformation, stack: str, parameters: dict, web_url: str) -> None:
    wanted = {"AllowedOrigin": web_url, "WebBaseUrl": web_url}
    if all(parameters.get(key) == value for key, value in wanted.items()):
        return
    print(f"setting AllowedOrigin and WebBaseUrl to {web_url} (the functions' front end)")
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
    cloudformation = boto3.client("cloudformation")
    outputs, parameters = outputs_and_parameters(cloudformation, stack)
    if "WebUrl" not in outputs:
        print(f"{stack} has no web front end (WebFrontEnd=false); the API is at {outputs.get('ApiUrl')}")
        return
    if not (build / "index.html").is_file():
        sys.exit(f"no built app in {build}: run `npm run build` in web/")
    web_url = outputs["WebUrl"]
    point_functions_at(cloudformation, stack, parameters, web_url)
    upload(boto3.client("s3"), outputs["WebBucketName"], build)
    boto3.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())},
    )
    print(f"the web front end: {web_url}")


if __name__ == "__main__":
    main()
