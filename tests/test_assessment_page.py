"""/assessment/ in a real browser: the dispatcher opens November's rankings of the scripted month
(tests/test_assessment_scores.py), clicks a grid member and follows a −2 down to its evidence,
the overdue work order and its case (times in county time), a refused period marked; then the
bulletin page with its charts and downloads, and the grid member's own page. Plus who may open
the pages (no browser)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gisgrid.assessment import bulletins, computing
from tests.test_assessment_scores import NOV, NOW, Month
from tests.test_map_page import assert_only_own_server, page  # noqa: F401 (the page fixture)


def login(pg, live_server, username: str, path: str = "/assessment/"):
    pg.goto(live_server.url + path)
    pg.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", f"{username}-demo")
    pg.click("button.primary")
    pg.wait_for_url(re.compile(r".*" + re.escape(path) + "$"))


@pytest.mark.browser
def test_rankings_open_down_to_the_overdue_work_order(page, live_server, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = str(tmp_path / "media")
    m = Month()
    computing.recompute(NOV, now=NOW, patrol=False, notify=False)
    b = bulletins.issue(NOV, User.objects.get(username="dispatcher"), now=NOW, recompute=False)
    login(page, live_server, "dispatcher")
    page.select_option("#p-kind", "month")
    page.fill("#p-start", "2026-11-01")
    page.click("#period button[type=submit]")
    # The page first shows this month (甲 is in it too, with 100): wait for November's table.
    page.wait_for_function("(document.documentElement.dataset.period || '').startsWith('month:2026-11-01')")
    row = page.locator("#people tbody tr", has_text="甲网格员")
    row.wait_for()
    assert "91" in row.inner_text()
    row.click()
    overdue = page.locator("#entries tbody tr[data-rule=overdue]")
    overdue.wait_for()
    text = overdue.inner_text()
    assert "-2" in text and "县城市管理执法局" in text
    link = overdue.locator("a.ev-case")
    assert link.inner_text() == m.c1.number
    assert link.get_attribute("href") == f"/cases/{m.c1.number}/"
    assert "2026-11-10 09:00" in text  # the work order's completion in county time, not UTC
    # Rates are percentages with their decimals (城管局 returned a quarter of its work orders).
    assert "25%" in page.locator("#units tbody tr", has_text="县城市管理执法局").inner_text()
    bulletin_item = page.locator("#bulletins li", has_text=b.title)
    assert "2026-12-01 10:00" in bulletin_item.inner_text()
    assert page.locator("#c-people canvas").count() == 1
    # The people chart draws the scores of the rows it charts: the 15 lowest of those with entries.
    chart = page.evaluate("""async () => {
      const option = echarts.getInstanceByDom(document.querySelector("#c-people")).getOption();
      const body = await (await fetch("/api/v1/assessment/scores?kind=month&start=2026-11-01")).json();
      return {names: option.yAxis[0].data, data: option.series[0].data, min: option.xAxis[0].min,
              people: body.people};
    }""")
    charted = sorted((p for p in chart["people"] if p["entries"] or p["no_excellent"]), key=lambda p: p["score"])[:15]
    assert chart["names"] == [p["name"] for p in charted]
    assert chart["data"] == [p["score"] for p in charted]
    assert 91 in chart["data"] and chart["min"] == 0
    # A period the API refuses: its code on the status line, the field at fault marked.
    page.fill("#p-start", "2099-01-01")
    page.click("#period button[type=submit]")
    page.locator("#status[data-error-code=invalid]").wait_for()
    assert page.get_attribute("#p-start", "aria-invalid") == "true"
    page.wait_for_function("document.documentElement.dataset.busy === '0'")
    # The bulletin: its charts, its rankings from the snapshot, its downloads.
    page.goto(f"{live_server.url}/assessment/bulletins/{b.pk}/")
    page.locator("#people tbody tr", has_text="丙网格员").wait_for()
    assert page.locator("#c-rules canvas").count() == 1
    assert "丙网格员" in page.locator("#replacements").inner_text()
    assert page.locator("#dl-pdf").get_attribute("href").endswith("type=pdf")
    # The grid member 甲 signs in: their own score, entries and this week's quota, no rankings.
    m.a.user.set_password("assess_a-demo")
    m.a.user.save()
    page.context.clear_cookies()
    login(page, live_server, "assess_a")
    page.fill("#p-start", "2026-11-01")
    page.click("#period button[type=submit]")
    page.wait_for_function("(document.documentElement.dataset.period || '').startsWith('month:2026-11-01')")
    page.locator("#entries tbody tr[data-rule=overdue]").wait_for()
    page.wait_for_function("document.documentElement.dataset.busy === '0'")
    assert page.locator("#my-score").inner_text() == "91"
    assert page.locator("#drill-title").inner_text().endswith("甲网格员")
    assert page.locator("#my-quota").inner_text() not in ("", "…")
    assert page.locator("#people").count() == 0
    assert page.errors == []
    assert_only_own_server(page, live_server)


def test_who_opens_the_pages(heyang_db):
    anon = Client()
    r = anon.get("/assessment/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    for username, status in (("dispatcher", 200), ("gridchief", 200), ("gridmember", 200), ("planner", 403),
                             ("unitstaff", 403)):
        c = Client()
        c.force_login(User.objects.get(username=username))
        assert c.get("/assessment/").status_code == status, username
    c = Client()
    c.force_login(User.objects.get(username="gridmember"))
    assert c.get("/assessment/reports/").status_code == 403
    c.cookies["django_language"] = "en"
    assert "My score" in c.get("/assessment/").content.decode()
