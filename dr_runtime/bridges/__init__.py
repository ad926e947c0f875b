"""Snapshot bridges: export OpenSearch and MemoryDB snapshots into S3 buckets that AWS Backup protects.

AWS Backup cannot back up either service, so each job puts the service's own snapshot into a dedicated
bucket; the S3 backup plans then copy that bucket cross-region and into the air-gapped vault.
Run as Lambda (``handler``) or as a command (``python -m dr_runtime.bridges.<job>``).
"""
