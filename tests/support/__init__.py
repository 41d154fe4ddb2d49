"""What tests of more than one module share: waiting for a condition, servers on loopback, the
principals and projects tests act as and in, the CLI and step harnesses, the platform as the
pipeline sees it. A piece one suite alone uses lives beside that suite instead, in a module not
named `test_*`; a test module never imports from another."""
