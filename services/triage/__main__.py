"""`python -m services.triage`: run the triage service."""

from services.triage.app import SERVICE, create_app
from services.triage.settings import Settings
from shared.serve import serve

if __name__ == "__main__":
    settings = Settings()
    serve(SERVICE, settings, create_app, port=settings.port)
