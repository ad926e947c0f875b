"""Deployment bootstrap: the CI roles' documents (``github_oidc``) and the Pulumi Cloud recipe (``pulumi-cloud/``)."""
