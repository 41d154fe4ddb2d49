"""HTTP routes, one module per resource; each only parses, authorises and calls a service."""
