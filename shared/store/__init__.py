"""The store adapter: PyMongo's async client, and every workaround the FerretDB 1.x store needs, in one place.

- ``mongo``: the client (fails fast), readiness probes with a real query and a deadline;
- ``serial``: ``SerialCollection``, writes that never overlap on one document, conditional writes narrowed to ``_id``
  look-ups (FerretDB pushes down nothing else), bulk commands kept under FerretDB's 100-statement limit, and the
  versioned replace an aggregate is saved with (a real condition on MongoDB, a look-up by ``_id`` on FerretDB);
- ``docmatch``: filters decided in Python for those narrowed writes;
- ``timing``: store time and commands per collection and query shape (``weerbaar_store_seconds``).

Nothing outside this package asks which store it talks to. The id-index keeper and the FerretDB launcher's own
fixes live with the launcher (deploy/local/ferretdb).
"""
