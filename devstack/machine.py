"""What the real node changes on this machine, recorded before `up` and put back by `down`.

kubelet writes kernel sysctls, runc creates cgroups, containerd and kubelet mount file systems and
create a few fixed directories. `down` must leave the machine as it was, so the node's parts use
these helpers: a snapshot taken before the first change, and teardown that works even when the
daemons that made the state are already dead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from .core import DevstackError

#: Kernel settings kubelet (protectKernelDefaults off), kube-proxy or the bridge may change.
SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
#: Fixed paths containerd 1.6, the CNI plugins and kubelet create whatever they are configured
#: with (shim sockets, the CNI result cache, the container-log symlinks, the device-plugin
#: socket).
FIXED_DIRS = (
    "/run/containerd",
    "/var/lib/cni",
    "/var/log/containers",
    "/run/netns",
    "/var/lib/kubelet",
)


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def sysctl(key: str) -> str | None:
    try:
        return _sysctl_path(key).read_text().strip()
    except OSError:
        return None


def set_sysctl(key: str, value: str) -> None:
    try:
        _sysctl_path(key).write_text(value)
    except OSError as err:
        raise DevstackError(f"cannot set {key}={value}: {err}") from err


def take_snapshot(path: Path) -> dict[str, object]:
    """Record the machine's settings once; a second `up` keeps the first (pre-node) record."""
    if path.exists():
        return dict(json.loads(path.read_text()))
    state: dict[str, object] = {
        "sysctls": {k: v for k in SYSCTLS if (v := sysctl(k)) is not None},
        "absent_dirs": [d for d in FIXED_DIRS if not os.path.lexists(d)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    return state


def restore_snapshot(path: Path) -> None:
    """Put the recorded sysctls back and remove the fixed directories the node created."""
    if not path.exists():
        return
    state = json.loads(path.read_text())
    for key, value in state["sysctls"].items():
        if sysctl(key) != value:
            with contextlib.suppress(DevstackError):
                set_sysctl(key, value)
    for d in state["absent_dirs"]:
        unmount_under(d)
        shutil.rmtree(d, ignore_errors=True)
    path.unlink()


# --- mounts ----------------------------------------------------------------------------------


def mounts() -> list[tuple[str, str]]:
    """(mount point, file system type) of every mount, in mount order."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        point = left.split()[4].encode().decode("unicode_escape")
        found.append((point, right.split()[0]))
    return found


def unmount_under(prefix: str | Path) -> int:
    """Unmount everything at or below `prefix`, deepest first; returns how many."""
    root = str(prefix).rstrip("/")
    points = [p for p, _ in mounts() if p == root or p.startswith(root + "/")]
    for point in sorted(set(points), key=len, reverse=True):
        proc = subprocess.run(["umount", point], capture_output=True, check=False)
        if proc.returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    return len(points)


# --- cgroups ---------------------------------------------------------------------------------


def cgroup_roots() -> list[Path]:
    """The mount point of every cgroup hierarchy (v1 controllers, name=systemd, unified)."""
    return [Path(p) for p, fstype in mounts() if fstype in ("cgroup", "cgroup2")]


def ensure_cgroup(name: str) -> None:
    """Create /<name> in every hierarchy (kubelet's cgroupRoot must exist in all of them)."""
    for root in cgroup_roots():
        group = root / name
        group.mkdir(exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):  # an empty cpuset cannot hold a process
            mine, parent = group / knob, root / knob
            if mine.exists() and not mine.read_text().strip():
                mine.write_text(parent.read_text())


def _groups_below(name: str) -> list[Path]:
    groups = []
    for root in cgroup_roots():
        top = root / name
        if top.is_dir():
            groups += [top, *_subgroups(top)]
    return groups


def _subgroups(top: Path) -> list[Path]:
    """Every group below `top`; one that goes away while we walk (its pod ended) is skipped."""
    found: list[Path] = []
    try:
        children = [c for c in top.iterdir() if c.is_dir()]
    except OSError:
        return found
    for child in children:
        found += [child, *_subgroups(child)]
    return found


def cgroup_pids(name: str) -> set[int]:
    pids: set[int] = set()
    for group in _groups_below(name):
        with contextlib.suppress(OSError):
            pids.update(int(x) for x in (group / "cgroup.procs").read_text().split())
    return pids


def remove_cgroup(name: str, *, timeout: float = 15.0) -> None:
    """Kill every process under /<name> in all hierarchies, then remove the groups bottom-up."""
    deadline = time.monotonic() + timeout
    while pids := cgroup_pids(name):
        kill(pids)
        if time.monotonic() > deadline:
            raise DevstackError(f"processes {sorted(pids)} in cgroup /{name} would not die")
        time.sleep(0.1)
    for group in sorted(_groups_below(name), key=lambda p: len(p.parts), reverse=True):
        for _ in range(50):  # a group stays busy for a moment after its last process exits
            try:
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


# --- processes -------------------------------------------------------------------------------


def kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def pids_with_args(*words: str) -> list[int]:
    """Processes whose command line has every one of `words` as an argument."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if all(w.encode() in args for w in words):
            found.append(int(cmdline.parent.name))
    return found


def rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None
