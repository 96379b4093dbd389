import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    """Load the community analysis tables (lexicons, French lemmas: a few seconds) in the
    background, so the first post after a start does not wait for them."""
    from cueillette.community import analysis

    analysis.analyse("Bonjour, très bon accueil.", lemmatizer="lookup")
    analysis.analyse("Hello, very nice welcome.", lemmatizer="lookup")


if os.environ.get("CUEILLETTE_WARM_UP", "1") == "1":
    threading.Thread(target=_warm_up, name="cueillette-warm-up", daemon=True).start()
