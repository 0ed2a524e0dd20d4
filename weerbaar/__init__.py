"""The ``weerbaar`` command line: tokens, demo data, dead letters, topics, readiness."""
