"""Code that runs in AWS (Lambda handlers) or as plain commands: Python + boto3, no Pulumi."""
