"""Prints, as JSON, what an account administrator creates for one of the workflows' roles: its name, its
trust policy (GitHub's OIDC provider, one ``sub`` per job kind) and, for the preview role, its policy.

    python -m deploy --repository acme/aws-dr-backup --account 111111111111 --role preview
    python -m deploy --repository acme/aws-dr-backup --account 111111111111 --role deploy --environment production
    python -m deploy --repository acme/aws-dr-backup --account 222222222222 --role isolated

Exit codes: 0 printed; 2 bad input (one line naming the flag, the value and what is allowed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from deploy.github_oidc import OidcInputError, Repository, RoleKind, role_documents
from dr_runtime.errors import EXIT_OK, EXIT_SETTINGS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", required=True, help="<owner>/<repository> on GitHub")
    parser.add_argument("--account", required=True, help="the account the role is created in")
    parser.add_argument("--role", required=True, choices=[k.value for k in RoleKind])
    parser.add_argument(
        "--environment",
        action="append",
        default=[],
        help="deploy only: a GitHub environment whose jobs may assume the role (repeat; default production, staging)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        documents = role_documents(
            RoleKind(args.role), Repository.parse(args.repository), args.account, args.environment
        )
    except OidcInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SETTINGS
    print(json.dumps(documents, indent=2, sort_keys=True))
    return EXIT_OK
