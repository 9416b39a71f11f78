from __future__ import annotations

from .coverage_api import urlpatterns as coverage_urls
from .ingest_api import urlpatterns as ingest_urls
from .live_api import urlpatterns as live_urls

urlpatterns = [*ingest_urls, *coverage_urls, *live_urls]
