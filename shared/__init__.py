"""Shared by every service, in layers (imports nothing from services): ``contracts`` (what travels and who may see
it), ``messaging`` (Kafka), ``store`` (the document store and its adapter), ``web`` (HTTP, policy, audit),
``security`` (keys and sealing), ``runtime`` (what runs a service)."""
