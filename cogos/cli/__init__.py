"""The ``cogos`` command line; each command lives in its own file."""
