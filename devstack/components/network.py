"""The real node's network: its bridge, the fence that keeps every packet on this machine, and
the relay that makes host services reachable from pods at the bridge address.

Addresses: the bridge `rollway0` is the gateway 10.245.0.1 of the pod range 10.245.0.0/24,
disjoint from KWOK's fake pod addresses (10.244.0.0/16) and from Services (10.96.0.0/16).

The fence is an nftables table of its own (`inet rollway`, one command removes it):
- forwarded pod traffic may only go back into the bridge (other pods, Service endpoints there);
  anything else is rejected at once and counted in the named counter `pod_egress_rejected`;
- host traffic to the pod, KWOK or Service ranges that would leave through any interface but the
  bridge (kube-proxy DNATs Services to fake KWOK addresses) is rejected and counted in
  `host_leak_rejected`;
- packets from outside the machine never reach pods, and if IP forwarding was off before the
  node, nothing but the bridge's traffic is forwarded now either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ..core import REPO, DevstackError, port_open, which
from ..machine import restore_snapshot, set_sysctl, sysctl, take_snapshot
from ..stack import Component, Context

BRIDGE = "rollway0"
GATEWAY = "10.245.0.1"
POD_CIDR = "10.245.0.0/24"
KWOK_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
TABLE = "rollway"
POD_EGRESS_COUNTER = "pod_egress_rejected"
HOST_LEAK_COUNTER = "host_leak_rejected"
#: Host services pods call, relayed from GATEWAY:port to 127.0.0.1:port: kube-apiserver,
#: registry, Maven repository, git server, Keycloak. (The Argo Server listens on every
#: interface already, so pods reach it at GATEWAY:26346 directly.)
RELAYED_PORTS = (26443, 25000, 28081, 23000, 28080)


def snapshot_file(ctx: Context) -> Path:
    return ctx.paths.state("node", "machine-before.json")


def fence(forwarding_was_on: bool) -> str:
    """The nftables script of the fence (see the module docstring)."""
    others = (
        "" if forwarding_was_on else f'        iifname != "{BRIDGE}" oifname != "{BRIDGE}" drop\n'
    )
    reject = (
        "meta l4proto tcp reject with tcp reset\n            reject with icmpx admin-prohibited"
    )
    return f"""table inet {TABLE} {{
    counter {POD_EGRESS_COUNTER} {{ }}
    counter {HOST_LEAK_COUNTER} {{ }}
    chain forward {{
        type filter hook forward priority filter - 10; policy accept;
        iifname "{BRIDGE}" oifname "{BRIDGE}" accept
        iifname "{BRIDGE}" counter name "{POD_EGRESS_COUNTER}" jump refuse
        oifname "{BRIDGE}" drop
{others}    }}
    chain output {{
        type filter hook output priority filter - 10; policy accept;
        ip daddr {{ {KWOK_CIDR}, {POD_CIDR}, {SERVICE_CIDR} }} oifname != {{ "{BRIDGE}", "lo" }} counter name "{HOST_LEAK_COUNTER}" jump refuse
    }}
    chain refuse {{
        {reject}
    }}
}}
"""


def nft(*args: str, stdin: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise DevstackError(f"nft {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def ip(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise DevstackError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def counter(name: str) -> int:
    """Packets counted so far by one of the fence's named counters."""
    doc = json.loads(nft("-j", "list", "counter", "inet", TABLE, name))
    for item in doc["nftables"]:
        if "counter" in item:
            return int(item["counter"]["packets"])
    raise DevstackError(f"no counter {name} in table inet {TABLE}")


def bridge_up() -> bool:
    out = ip("-j", "addr", "show", "dev", BRIDGE, check=False)
    try:
        addrs = json.loads(out or "[]")
    except ValueError:
        return False
    return any(a.get("local") == GATEWAY for link in addrs for a in link.get("addr_info", []))


class NodeNetwork(Component):
    """Bridge, fence and forwarding for the real node; applied before any pod can start."""

    name = "node-network"
    version = "1"
    daemon = False

    def install(self, ctx: Context) -> None:
        for tool, package in (("nft", "nftables"), ("ip", "iproute2")):
            if not which(tool):
                raise DevstackError(f"`{tool}` not found; install the {package} package")
        before = take_snapshot(snapshot_file(ctx))
        if not bridge_up():
            ip("link", "add", BRIDGE, "type", "bridge", check=False)
            ip("addr", "replace", f"{GATEWAY}/24", "dev", BRIDGE)
            ip("link", "set", BRIDGE, "up")
        # Routes of our own for the ranges the project made up: Service addresses go to the bridge
        # (kube-proxy's DNAT then reroutes to a pod there; nft sees the first route's device),
        # KWOK's fake pod addresses are unreachable at once. Without them both follow the
        # default route out of the machine.
        ip("route", "replace", SERVICE_CIDR, "dev", BRIDGE)
        ip("route", "replace", "unreachable", KWOK_CIDR)
        sysctls = before["sysctls"]
        assert isinstance(sysctls, dict)
        script = fence(sysctls.get("net.ipv4.ip_forward") == "1")
        # Replace the table atomically: one transaction deletes and re-adds it.
        nft("-f", "-", stdin=f"table inet {TABLE}\ndelete table inet {TABLE}\n{script}")
        set_sysctl("net.ipv4.ip_forward", "1")

    def ready(self, ctx: Context) -> bool:
        listed = nft("list", "table", "inet", TABLE, check=False)
        routes = ip("route", "show", "table", "main", check=False)
        return (
            bridge_up()
            and POD_EGRESS_COUNTER in listed
            and sysctl("net.ipv4.ip_forward") == "1"
            and f"{SERVICE_CIDR} dev {BRIDGE}" in routes
            and f"unreachable {KWOK_CIDR}" in routes
        )

    def down(self, ctx: Context) -> bool:
        had = bool(nft("list", "table", "inet", TABLE, check=False)) or bridge_up()
        for line in ip("-o", "link", "show", "master", BRIDGE, check=False).splitlines():
            port = line.split(":")[1].strip().split("@")[0]
            ip("link", "delete", port, check=False)  # veths of pods whose netns outlived them
        ip("link", "delete", BRIDGE, check=False)  # takes the Service route with it
        ip("route", "delete", "unreachable", KWOK_CIDR, check=False)
        nft("delete", "table", "inet", TABLE, check=False)
        restore_snapshot(snapshot_file(ctx))
        return had

    def endpoint(self, ctx: Context) -> str:
        return f"{BRIDGE} {GATEWAY}/24"


class NodeRelay(Component):
    """Host services (apiserver, registry, Maven, git, Keycloak) at the bridge address."""

    name = "node-relay"
    version = "1"
    depends = ("node-network",)

    def command(self, ctx: Context) -> list[str]:
        ports = [a for p in RELAYED_PORTS for a in ("--port", str(p))]
        return [sys.executable, "-m", "devstack.servers.relay", "--listen", GATEWAY, *ports]

    def environ(self, ctx: Context) -> dict[str, str]:
        return {"PYTHONPATH": str(REPO)}

    def ready(self, ctx: Context) -> bool:
        return all(port_open(p, GATEWAY) for p in RELAYED_PORTS)

    def endpoint(self, ctx: Context) -> str:
        return f"{GATEWAY}:{{{','.join(map(str, RELAYED_PORTS))}}}"
