"""./run manage seed_assessment_demo: last month scored, its bulletin issued and report made."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gisgrid.assessment.demo import seed


class Command(BaseCommand):
    help = ("Score last month (and this one), issue last month's, 旬's and week's bulletins and make the reports; "
            "adds one overdue work order in the demo grid member's grid. Idempotent. Needs seed_cases_demo.")

    def handle(self, *args, **opts):
        r = seed()
        self.stdout.write(f"考核演示数据 demo assessment: {r['month']}; showcase case {r['case']}; "
                          f"bulletins issued: {len(r['bulletins'])}; reports made: {len(r['reports'])}")
