"""Rollway: carries a Java artifact from Nexus to production on Kubernetes.

Jar in Nexus → image in Harbor → Helm chart from Gitea → Argo Rollouts blue-green or canary,
driven by Argo Workflows pipelines defined in Hera.
"""

__version__ = "0.1.0"
