"""``python -m deploy``: print one CI role's name, trust policy and policy (``deploy.github_oidc_cli``)."""

from deploy.github_oidc_cli import main

raise SystemExit(main())
