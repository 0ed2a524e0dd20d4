"""`python -m services.triage`: run the triage service."""

import sys

from services.triage.app import SERVICE, create_app
from services.triage.errors import PolicyError
from services.triage.settings import Settings
from shared.web.serve import load_settings, serve

if __name__ == "__main__":
    settings = load_settings(SERVICE, Settings)
    try:
        serve(SERVICE, settings, create_app, port=settings.port)
    except PolicyError as exc:
        sys.exit(f"triage refuses to start: {exc}")
