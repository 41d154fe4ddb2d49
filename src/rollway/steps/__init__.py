"""What runs inside a workflow pod: `rollway-step <name> [options]`.

Each step reads credentials from the environment or mounted files (never from arguments),
writes each output to a file for Argo output parameters and prints a JSON summary.
"""
