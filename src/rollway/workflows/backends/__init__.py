"""Where workflows run: Argo Server in production, the embedded engine on one machine.

Both implement `Backend`; `from_settings` picks one from configuration.
"""

from .base import Backend, Cancel, NodeStatus, WorkflowStatus, from_settings

__all__ = ["Backend", "Cancel", "NodeStatus", "WorkflowStatus", "from_settings"]
