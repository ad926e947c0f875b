"""The isolated account's own Pulumi project (``isolated/Pulumi.yaml``): every workload account's
air-gapped vault, its policy, its RAM share and, where needed, its locked vault, run with the isolated
account's credentials (docs/isolated-account.md)."""
