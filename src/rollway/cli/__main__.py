"""`python -m rollway.cli`: the same as `app`."""

from .main import main

main()
