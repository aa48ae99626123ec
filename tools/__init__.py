"""The project's own commands (the Makefile's targets); not part of the companion package."""
