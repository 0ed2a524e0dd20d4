"""weerbaar services: intake, triage, notify, reporting."""
