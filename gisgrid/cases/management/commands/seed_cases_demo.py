"""./run manage seed_cases_demo: a month of Heyang cases for the demo (skipped when cases exist)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gisgrid.cases.demo import seed_demo
from gisgrid.cases.models import Case


class Command(BaseCommand):
    help = ("Play a believable month of Heyang cases (every state, clock colour and channel, and the 2026 "
            "National Day week) through the workflow. Needs load_heyang, create_demo_users, seed_workdays.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--per-day", type=int, default=22)
        parser.add_argument("--force", action="store_true", help="add a month even when cases exist")

    def handle(self, *args, **opts):
        if Case.objects.exists() and not opts["force"]:
            self.stdout.write("案件演示数据 demo cases: cases exist already, nothing added (--force adds more)")
            return
        r = seed_demo(days=opts["days"], per_day=opts["per_day"])
        self.stdout.write(f"案件演示数据 demo cases: {r['cases']} cases, {r['alerts']} clock alerts")
        for key in ("states", "clocks", "channels"):
            self.stdout.write(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in r[key].items()))
