"""Rendered manifests meet the cluster: provenance stamping, server-side apply, live diffs."""
