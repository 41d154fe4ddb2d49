"""What the CLI shows, computed from the API's answers (as the plugin's `info` package does)."""
