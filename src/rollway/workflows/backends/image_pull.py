"""A step whose image the node cannot pull, read from the message Argo gives its pending node.

Argo keeps such a pod Pending (node message `<waiting reason>: <kubelet's message>`, from
getPendingReason) until the step's deadline, then reports only "Pod was active on the node longer
than the specified deadline". The kubelet's message already holds what the user needs: the image
and the registry's answer, the same in ErrImagePull and in the ImagePullBackOff that follows it.
"""

from __future__ import annotations

import re

#: The kubelet's waiting reasons of a container whose image it cannot get (pkg/kubelet/images).
REASONS = frozenset({
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
    "RegistryUnavailable", "SignatureValidationFailed",
})  # fmt: skip
WAITING = re.compile(r"^(\w+)(?::\s*(.*))?$", re.DOTALL)
IMAGE = re.compile(r'image(?: tag)? "([^"]+)"')
GRPC = re.compile(r"rpc error: code = \w+ desc = ")
#: Enough of the registry's answer for one line of a deployment's status.
MAX_ANSWER = 400


def pull_failure(message: str) -> str:
    """`image "<ref>" cannot be pulled: <registry's answer>` for a pending node's message, or ""
    when the message is not about pulling its image. Stable while the kubelet alternates between
    ErrImagePull and ImagePullBackOff."""
    match = WAITING.match(message.strip())
    if match is None or match.group(1) not in REASONS:
        return ""
    detail = " ".join((match.group(2) or "").split())
    image = IMAGE.search(detail)
    if image is None:
        return f"the step's image cannot be pulled: {match.group(1)}: {detail}"[: MAX_ANSWER * 2]
    # The innermost error follows the last quoted name (`…reference "x": <answer>`).
    last = detail.rfind('": ')
    answer = GRPC.sub("", detail[last + 3 :] if last >= 0 else detail).strip()
    return f'image "{image.group(1)}" cannot be pulled: {answer[:MAX_ANSWER]}'
