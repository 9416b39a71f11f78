import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisgrid.settings")
django_application = get_wsgi_application()

from gisgrid.patrols.ingest_fast import with_osmand_fast_path  # noqa: E402 (needs the settings above)

# Phones' single-fix GETs skip Django's stack (gisgrid/patrols/ingest_fast.py says why).
application = with_osmand_fast_path(django_application)
