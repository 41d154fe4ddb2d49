"""The dashboard under `/ui`: pages for people, served by the API server from the same origin.

The pages hold no data: their script reads and acts through the JSON API under `/api/v1`, so the
API's per-project authorisation decides everything the page shows or does. Login is Keycloak's
authorization code flow with PKCE, run by the server (`login`); the tokens stay in the server's
session store and reach the API as a bearer token added to the page's requests (`SessionBearer`).
"""

from .routes import install

__all__ = ["install"]
