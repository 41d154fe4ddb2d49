"""Kubernetes pod discovery for Prometheus, served as Prometheus' HTTP service discovery.

Debian builds Prometheus without `kubernetes_sd_configs`, so this process does that part: on
each refresh it lists the pods of the real node from the apiserver (with a token that may only
read pods) and answers the target groups Prometheus should scrape: Running pods that ask with the
annotation `prometheus.io/scrape: "true"`, at their pod address (in the bridge's range only) and
the port and path of `prometheus.io/port` and `prometheus.io/path`, labelled with their
namespace, pod, app instance and Argo Rollouts revision hash.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import ssl
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCRAPE = "prometheus.io/scrape"
PORT = "prometheus.io/port"
PATH = "prometheus.io/path"
HASH_LABEL = "rollouts-pod-template-hash"


def target_groups(pods: list[dict[str, Any]], pod_range: str) -> list[dict[str, Any]]:
    """Prometheus' target groups for the pods that ask to be scraped and sit on the bridge."""
    network = ipaddress.ip_network(pod_range)
    groups = []
    for pod in pods:
        meta, status = pod.get("metadata", {}), pod.get("status", {})
        notes = meta.get("annotations") or {}
        ip = status.get("podIP") or ""
        if notes.get(SCRAPE) != "true" or status.get("phase") != "Running" or not ip:
            continue
        if ipaddress.ip_address(ip) not in network or not str(notes.get(PORT, "")).isdigit():
            continue
        labels = meta.get("labels") or {}
        groups.append({
            "targets": [f"{ip}:{notes[PORT]}"],
            "labels": {
                "__metrics_path__": notes.get(PATH, "/metrics"),
                "namespace": meta.get("namespace", ""),
                "pod": meta.get("name", ""),
                "app": labels.get("app.kubernetes.io/instance", ""),
                "rollouts_pod_template_hash": labels.get(HASH_LABEL, ""),
            },
        })  # fmt: skip
    return groups


class Discovery:
    """Lists one node's pods from the apiserver."""

    def __init__(self, apiserver: str, ca: Path, token: Path, node: str) -> None:
        query = urllib.parse.urlencode({"fieldSelector": f"spec.nodeName={node}"})
        self.url = f"{apiserver}/api/v1/pods?{query}"
        self.context = ssl.create_default_context(cafile=str(ca))
        self.token = token

    def pods(self) -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token.read_text().strip()}"}
        req = urllib.request.Request(self.url, headers=headers)
        with urllib.request.urlopen(req, timeout=5, context=self.context) as resp:
            return list(json.load(resp).get("items", []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--apiserver", required=True)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--pod-range", required=True)
    args = parser.parse_args()
    discovery = Discovery(args.apiserver, args.ca, args.token_file, args.node)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path == "/healthz":
                self._answer(200, b"ok", "text/plain")
                return
            try:
                groups = target_groups(discovery.pods(), args.pod_range)
            except OSError as err:  # the apiserver is away: Prometheus keeps its last targets
                self._answer(503, f"cannot list pods: {err}".encode(), "text/plain")
                return
            self._answer(200, json.dumps(groups).encode(), "application/json")

        def _answer(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((args.listen, args.port), Handler)
    print(f"pod discovery for node {args.node} on {args.listen}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
