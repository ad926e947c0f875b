"""Recovery: restore plans, jobs and restore times from the DR-region copies or the air-gapped vault.

``python -m dr_runtime.restore plan|start|status|instances``; see ``cli.py`` and docs/restore.md.
Plain boto3: no Pulumi, runnable from any machine with credentials of the target account.
"""
