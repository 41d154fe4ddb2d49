"""The real local platform Rollway is tested and demonstrated on.

`scripts/devstack up|down|status|env` drives it. Every component is a real server bound to
127.0.0.1; binaries are built or downloaded once into a cache keyed by version.
"""
