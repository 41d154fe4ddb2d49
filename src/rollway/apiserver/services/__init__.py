"""What the API does, apart from HTTP: routers call these and stay thin."""
