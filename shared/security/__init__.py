"""Keys and sealing: encryption at rest, install and development keys, keyed pseudonyms, re-sealing after rotation."""
