"""The Rollway API server: FastAPI routers over services, with Keycloak auth, an audit trail,
deployment records in SQL and workflows run through the engine `Backend`.

`create_app` builds the ASGI app; `rollway-apiserver` (`main`) serves it.
"""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
