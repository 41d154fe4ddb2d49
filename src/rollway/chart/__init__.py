"""The team's Helm chart: fetched from git, rendered with helm, compared with the cluster."""
