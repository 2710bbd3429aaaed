"""Prints one output of a deployed stack: `python scripts/stack_output.py STACK OUTPUT`."""

import sys

import boto3

stack, name = sys.argv[1:3]
outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
print(next(o["OutputValue"] for o in outputs if o["OutputKey"] == name))
