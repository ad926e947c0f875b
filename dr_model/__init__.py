"""The ground floor: facts every layer shares, as plain data and pure functions.

The resource-type catalog, AWS Backup's selection semantics, the cron grammar and AWS naming rules. Standard
library only: no Pulumi, no boto3, no pydantic, and no import of any other package of the repository
(``tests/test_layers.py`` holds it), so the program (``components/``), the organisation project (``org/``),
the offline plan (``drplan/``), the runtime (``dr_runtime/``, Lambda archives included) and, through
byte-identical copies, the policy pack (``policies/``) all build on it.
"""
