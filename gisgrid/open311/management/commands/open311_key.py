"""Issue an Open311 API key for a client application and print it (only its hash is stored)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gisgrid.audit.log import record
from gisgrid.open311.models import Open311Key


class Command(BaseCommand):
    help = ("Print a new Open311 api_key for client NAME (POST /open311/v2/requests needs one). "
            "--revoke disables NAME's key; --replace issues a new key for an existing NAME.")

    def add_arguments(self, parser):
        parser.add_argument("name", help="the client application, e.g. 'county-wechat'")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--revoke", action="store_true", help="disable the key of NAME")
        group.add_argument("--replace", action="store_true", help="replace the key of NAME with a new one")

    def handle(self, *args, **o):
        name = o["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("NAME must be 1 to 100 characters")
        with transaction.atomic():
            existing = Open311Key.objects.select_for_update().filter(name=name).first()
            if o["revoke"]:
                if existing is None:
                    raise CommandError(f"no Open311 key named {name!r}")
                existing.active = False
                existing.save(update_fields=["active"])
                record(None, "open311.key.revoke", existing, name=name)
                self.stdout.write(f"revoked: {existing}")
                return
            if existing is not None:
                if not o["replace"]:
                    raise CommandError(f"an Open311 key named {name!r} exists; use --replace or --revoke")
                # The same row keeps the requests it filed; only the secret changes.
                row, key = existing, existing.rotate()
            else:
                row, key = Open311Key.issue(name)
            record(None, "open311.key.issue", row, name=name, prefix=row.prefix, replaced=existing is not None)
        # The key itself, alone on the last line, so scripts can take it with `tail -1`.
        self.stdout.write(key)
