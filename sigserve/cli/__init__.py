"""The ``sigserve`` command."""
