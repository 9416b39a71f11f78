"""Demo set-up for patrols: link the demo accounts to people, register a phone, simulate a week."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction

from gisgrid.boundaries.models import GridAssignment, Person
from gisgrid.patrols import sessions
from gisgrid.patrols.ingest import auth
from gisgrid.patrols.management.commands.register_device import served_url
from gisgrid.patrols.models import Device
from gisgrid.patrols.simulate import simulate_week

DEMO_DEVICE = "demo-phone-01"
# demo account -> (role, grid code whose person it becomes); None = the first such person
LINKS = {"inspector": (Person.Role.INSPECTOR, None), "gridmember": (Person.Role.GRID_MEMBER, "610524001018"),
         "gridchief": (Person.Role.GRID_CHIEF, "610524001")}


class Command(BaseCommand):
    help = "Link demo accounts to grid people, register demo-phone-01 for 'inspector', simulate this week's rounds."

    def add_arguments(self, parser):
        parser.add_argument("--no-simulate", action="store_true")

    def handle(self, *args, **o):
        with transaction.atomic():
            for username, (role, grid) in LINKS.items():
                user = User.objects.filter(username=username).first()
                if user is None or Person.objects.filter(user=user).exists():
                    continue
                qs = Person.objects.filter(role=role, user__isnull=True)
                if grid:
                    qs = qs.filter(pk__in=GridAssignment.objects.filter(grid_code=grid).values("person"))
                person = qs.order_by("pk").first()
                if person:
                    person.user = user
                    person.save(update_fields=["user"])
            inspector = Person.objects.filter(user__username="inspector").first()
            token = None
            if inspector and not Device.objects.filter(identifier=DEMO_DEVICE).exists():
                device = Device(identifier=DEMO_DEVICE, person=inspector, user=inspector.user)
                token = auth.set_token(device)
                device.save()
        if not o["no_simulate"]:
            totals = simulate_week()
            sessions.refresh()
            self.stdout.write(f"模拟巡查 simulated rounds this week: {totals['accepted']} fixes stored, "
                              f"{totals['duplicates']} already there")
        if token:
            self.stdout.write(f"演示手机 demo phone {DEMO_DEVICE} (inspector {inspector.name}) token: {token}")
            self.stdout.write(f"  OsmAnd URL: {served_url()}/api/v1/track/osmand?id={DEMO_DEVICE}&token={token}"
                              "&lat={0}&lon={1}&timestamp={2}&hdop={3}&altitude={4}&speed={5}&bearing={6}")
        elif Device.objects.filter(identifier=DEMO_DEVICE).exists():
            self.stdout.write(f"演示手机 demo phone {DEMO_DEVICE} is registered; a new token: "
                              f"./run manage register_device {DEMO_DEVICE} --person inspector")
