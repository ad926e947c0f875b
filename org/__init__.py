"""The organisation stack: AWS Backup set-up of the Organizations management account (or Backup's
delegated administrator) that every workload stack relies on, and the fleet bucket.

A Pulumi project of its own (``org/Pulumi.yaml``); its program is ``org/__main__.py``.
"""
