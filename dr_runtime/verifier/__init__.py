"""The verifier: the fleet's air-gapped copies checked from outside the workload accounts.

``python -m dr_runtime.verifier`` (``cli``) and the Lambda handler ``dr_runtime.verifier.verify.handler``;
design, settings and what remains in docs/verifier.md.
"""
