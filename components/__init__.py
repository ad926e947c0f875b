"""Pulumi components of aws-dr-backup; `catalog`, `config` and `layout` are plain data."""
