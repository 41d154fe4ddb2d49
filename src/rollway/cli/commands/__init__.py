"""One module per `app` command, imported only when that command runs."""
