"""`python -m services.intake`: run the intake service."""

from services.intake.app import SERVICE, create_app
from services.intake.settings import Settings
from shared.web.serve import load_settings, serve

if __name__ == "__main__":
    settings = load_settings(SERVICE, Settings)
    serve(SERVICE, settings, create_app, port=settings.port)
