"""Everything a request may use, built once per server: settings, database, engine, clients."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..auth.tokens import TokenValidator
from ..workflows.backends import Backend
from .db import Database
from .metrics import Metrics
from .services.notifications import Notifier
from .services.reconciler import Reconciler
from .settings import Settings
from .streams import Streams

if TYPE_CHECKING:
    from ..rollouts import RolloutsClient


@dataclass
class Context:
    settings: Settings
    db: Database
    backend: Backend
    validator: TokenValidator
    reconciler: Reconciler
    notifier: Notifier
    metrics: Metrics
    streams: Streams
    #: Builds the Rollouts client on first use: Kubernetes may be configured later than startup.
    rollouts_factory: Callable[[], RolloutsClient]
    _rollouts: RolloutsClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def rollouts(self) -> RolloutsClient:
        with self._lock:
            if self._rollouts is None:
                self._rollouts = self.rollouts_factory()
            return self._rollouts
