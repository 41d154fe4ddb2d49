"""`app`: the Rollway command line. It talks only to the API server (see `api`)."""

from .main import cli, main

__all__ = ["cli", "main"]
