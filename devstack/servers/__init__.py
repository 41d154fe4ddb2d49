"""Small stdlib servers that devstack components run as daemons (`python3 -m …`)."""
