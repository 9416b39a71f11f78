"""`edition` events: a published edition is news for every signed-in user (the map's grids).

Connected to boundaries' `edition_published` signal (sent inside publish's transaction) by
PushConfig.ready, so boundaries needs no edit and knows nothing of push.
"""

from __future__ import annotations

from django.utils import timezone

from .audience import Audience
from .publish import publish


def on_edition_published(sender, edition, **kwargs) -> None:
    published = timezone.localtime(edition.published_at).isoformat() if edition.published_at else None
    publish("edition", {"edition": edition.pk, "name": edition.name, "published_at": published},
            Audience.of(everyone_signed_in=True))
