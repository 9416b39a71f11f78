"""The hotline form finds the place the way the caller says it (issue 14): on /cases/ the address
field asks GET /api/v1/geocode as the dispatcher types and shows the ranked places with their grid
chain, unit and staff, the parsed parts, the did-you-mean and the outside-the-county note; choosing
a place fills the point the case is filed at. Real browser (Playwright + Debian's chromium) against
live_server, with the places taken from the loaded Heyang data, not from fixed text.
"""

from __future__ import annotations

import re

import pytest

from gisgrid.boundaries.gazetteer import SURE
from gisgrid.cases.models import Case
from tests.test_case_pages import config_of, open_as, page_client, wait_ready
from tests.test_geocode_phrasings import index_places, phrasings
from tests.test_map_page import assert_only_own_server

LOOKUP_DONE = """([q]) => {
  const box = document.getElementById('h-lookup');
  return box.dataset.query === q && (box.dataset.state === 'done' || box.dataset.state === 'error');
}"""


def geocode(text: str) -> dict:
    """What the page gets for `text` (the same endpoint and limit, as the dispatcher)."""
    r = page_client("dispatcher").get("/api/v1/geocode", {"q": text, "limit": 5})
    assert r.status_code == 200, r.content
    return r.json()


def sure_compound() -> tuple[str, dict]:
    """A compound said with a building and unit that the gazetteer finds first, sure, with no
    near rival, inside a level-3 grid, and with at least one other candidate."""
    from gisgrid.boundaries.place_index import INDEX

    for name in sorted(p.name for p in INDEX.get().places if p.kind == "compound"):
        text = f"{name}3号楼2单元"
        answer = geocode(text)
        places = answer["results"]
        if (len(places) >= 2 and places[0]["name"] == name and places[0]["score"] >= SURE
                and not answer["did_you_mean"] and len(places[0]["grids"]) == 3 and places[0]["unit"]):
            return text, answer
    pytest.fail("no compound in the loaded data is found first and sure with its building number")


def open_hotline(browser, live_server):
    ctx, pg = open_as(browser, live_server, "dispatcher", "/cases/")
    wait_ready(pg)
    pg.click("#hotline-box summary")
    pg.wait_for_function("document.querySelectorAll('#h-category option').length > 10")
    return ctx, pg


def look_up(pg, text: str) -> None:
    pg.fill("#h-address", text)
    pg.wait_for_function(LOOKUP_DONE, arg=[text.strip()])


def option_names(pg) -> list[str]:
    return pg.locator("#h-places li[role=option]").evaluate_all("items => items.map(i => i.dataset.name)")


def point_fields(pg) -> tuple[str, str, str]:
    return (pg.input_value("#h-lon"), pg.input_value("#h-lat"), pg.input_value("#h-crs"))


def file_case(pg, description: str) -> Case:
    pg.select_option("#h-category", "E0501")
    pg.fill("#h-name", "王先生")
    pg.fill("#h-phone", "13900000000")
    pg.fill("#h-description", description)
    pg.click("#hotline-form button[type=submit]")
    pg.wait_for_url(re.compile(r"/cases/HY\d{8}-\d{4,}/$"))
    wait_ready(pg)
    number = re.search(r"/cases/(HY\d{8}-\d{4,})/$", pg.url).group(1)
    return Case.objects.select_related("report").get(number=number)


def test_queue_page_gives_the_lookup_its_endpoint_and_strings(heyang_db):
    html = page_client("dispatcher").get("/cases/").content.decode()
    assert config_of(html)["geocode"] == {"url": "/api/v1/geocode", "limit": 5, "sure": SURE}
    assert 'data-did-you-mean="您是否要找："' in html and 'id="h-find"' in html
    english = page_client("dispatcher", "en").get("/cases/").content.decode()
    assert 'data-did-you-mean="Did you mean: "' in english and 'data-building="Building"' in english
    assert 'data-chosen="Chosen: {name} ({chain})"' in english and "您是否要找" not in english
    # A grid chief reads the queue but does not take calls: no form, no lookup.
    chief = page_client("gridchief").get("/cases/").content.decode()
    assert 'id="hotline-strings"' not in chief and 'id="h-address"' not in chief


@pytest.mark.browser
def test_dispatcher_sees_the_compound_and_files_the_case_in_its_grid(browser, live_server, heyang_live):
    text, answer = sure_compound()
    top = answer["results"][0]
    grids = sorted(top["grids"], key=lambda g: g["level"])
    ctx, pg = open_hotline(browser, live_server)
    look_up(pg, text)

    first = pg.locator("#h-places li[role=option]").first
    assert first.get_attribute("data-name") == top["name"]
    assert first.get_attribute("data-sure") == "1"
    assert "可信" in first.locator(".place-score").inner_text()
    assert first.locator(".place-chain").inner_text() == " › ".join(g["name"] for g in grids)
    unit_text = first.locator(".place-unit").inner_text()
    assert top["unit"]["name"] in unit_text
    staff_text = first.locator(".place-staff").inner_text() if top["staff"] else ""
    for s in top["staff"]:
        assert s["name"] in staff_text
        if s.get("phone"):  # the dispatcher may see phones: the API gave them, the page shows them
            assert s["phone"] in staff_text
    assert pg.locator("#h-parsed li[data-part=building]").get_attribute("data-value") == "3"
    assert pg.locator("#h-parsed li[data-part=unit]").get_attribute("data-value") == "2"
    assert pg.locator("#h-parsed li[data-part=core]").get_attribute("data-value") == top["name"]
    assert pg.locator("#h-dym").is_hidden() and pg.locator("#h-note").is_hidden()

    # Sure and without a rival: preselected, its point in the form, said next to the field.
    assert first.get_attribute("aria-selected") == "true"
    chosen = pg.locator("#h-chosen")
    assert chosen.is_visible() and chosen.get_attribute("data-name") == top["name"]
    assert top["name"] in chosen.inner_text() and grids[-1]["name"] in chosen.inner_text()
    first.click()
    lon, lat, crs = point_fields(pg)
    assert (float(lon), float(lat), crs) == (pytest.approx(top["point"][0]), pytest.approx(top["point"][1]), "wgs84")
    pg.screenshot(path="/tmp/hotline-lookup.png", full_page=True)

    case = file_case(pg, "楼道堆放杂物")
    r = case.report
    assert case.channel == "hotline" and r.address == text  # the caller's words stay the address
    assert r.raw_crs == "wgs84" and (r.raw_lon, r.raw_lat) == (pytest.approx(top["point"][0]), pytest.approx(top["point"][1]))
    codes = [g["code"] for g in grids]
    assert [r.level1_code, r.level2_code, r.level3_code] == codes
    assert pg.locator("#c-grids").inner_text() == " / ".join(codes)
    assert pg.locator("#c-address").inner_text() == text
    assert not pg.errors, pg.errors
    assert_only_own_server(pg, live_server)
    ctx.close()


@pytest.mark.browser
def test_keyboard_choice_is_filed_and_editing_the_text_drops_it(browser, live_server, heyang_live):
    text, answer = sure_compound()
    first, second = answer["results"][0], answer["results"][1]
    ctx, pg = open_hotline(browser, live_server)
    look_up(pg, text)
    assert pg.locator("#h-chosen").get_attribute("data-name") == first["name"]

    # Arrow down from the preselected first place to the second, Enter chooses it (and files nothing).
    pg.press("#h-address", "ArrowDown")
    assert pg.locator("#h-place-1").get_attribute("class").split() == ["place", "active"]
    assert pg.get_attribute("#h-address", "aria-activedescendant") == "h-place-1"
    pg.press("#h-address", "Enter")
    assert pg.locator("#h-chosen").get_attribute("data-name") == second["name"]
    assert pg.locator("#h-place-1").get_attribute("aria-selected") == "true"
    assert pg.locator("#h-place-0").get_attribute("aria-selected") == "false"
    lon, lat, crs = point_fields(pg)
    assert (float(lon), float(lat), crs) == (pytest.approx(second["point"][0]), pytest.approx(second["point"][1]), "wgs84")
    assert re.search(r"/cases/$", pg.url)

    # Editing the caller's words drops the choice at once: the point fields are empty again,
    # before any new answer comes (checked in the same task as the edit).
    after_edit = pg.evaluate("""() => {
      const i = document.getElementById('h-address');
      i.value = i.value + '东门';
      i.dispatchEvent(new Event('input', {bubbles: true}));
      return [document.getElementById('h-lon').value, document.getElementById('h-lat').value,
              document.getElementById('h-chosen').hidden];
    }""")
    assert after_edit == ["", "", True]
    edited = text + "东门"
    pg.wait_for_function(LOOKUP_DONE, arg=[edited])
    assert pg.locator("#h-parsed li[data-part=gate]").get_attribute("data-value") == "东门"
    # The new text is looked up afresh: its own sure first place is preselected again.
    assert pg.locator("#h-chosen").get_attribute("data-name") == first["name"]

    # A point the dispatcher types is theirs: the choice is forgotten, an edit leaves the point alone.
    pg.fill("#h-lon", "110.1449")
    pg.fill("#h-lat", "35.2385")
    assert pg.locator("#h-chosen").is_hidden()
    pg.fill("#h-address", text)
    pg.wait_for_function(LOOKUP_DONE, arg=[text])
    assert point_fields(pg)[:2] == ("110.1449", "35.2385") and pg.locator("#h-chosen").is_hidden()

    # Choose the second place again by keyboard (from no active option, the first arrow is the first place).
    pg.press("#h-address", "ArrowDown")
    pg.press("#h-address", "ArrowDown")
    pg.press("#h-address", "Enter")
    assert pg.locator("#h-chosen").get_attribute("data-name") == second["name"]
    case = file_case(pg, "门口积水")
    r = case.report
    assert r.address == text and r.raw_crs == "wgs84"
    assert (r.raw_lon, r.raw_lat) == (pytest.approx(second["point"][0]), pytest.approx(second["point"][1]))
    assert r.grid_code == sorted(second["grids"], key=lambda g: g["level"])[-1]["code"]
    assert not pg.errors, pg.errors
    ctx.close()


def _phrasing_cases() -> tuple[tuple[str, str], tuple[str, str, dict]]:
    """(query, target) the gazetteer ranks first for a homophone or a missing character, and
    (query, target, answer) of a homophone whose place comes as the did-you-mean of a rival."""
    places, crossings = index_places()
    first = did_you_mean = None
    for p in phrasings(places, crossings, per_kind=80):
        if p.kind not in ("homophone", "missing_char") or (first and did_you_mean):
            continue
        answer = geocode(p.query)
        names = [x["name"] for x in answer["results"]]
        if first is None and names[:1] == [p.target]:
            first = (p.query, p.target)
        elif did_you_mean is None and names[:1] != [p.target] and p.target in answer["did_you_mean"]:
            did_you_mean = (p.query, p.target, answer)
    assert first and did_you_mean, "the Heyang phrasings no longer give both cases"
    return first, did_you_mean


@pytest.mark.browser
def test_homophones_and_missing_characters_find_the_place(browser, live_server, heyang_live):
    (query, target), (dym_query, dym_target, dym_answer) = _phrasing_cases()
    ctx, pg = open_hotline(browser, live_server)
    look_up(pg, query)
    assert option_names(pg)[0] == target

    # Two places nearly alike: nothing is preselected, the rival is offered, and choosing it from
    # the did-you-mean line fills its point.
    look_up(pg, dym_query)
    assert pg.locator("#h-dym").is_visible()
    assert pg.locator("#h-dym .dym-label").inner_text().startswith("您是否要找")
    assert dym_target in pg.locator("#h-dym").inner_text()
    assert pg.locator("#h-chosen").is_hidden() and point_fields(pg)[:2] == ("", "")
    pg.locator("#h-dym button.dym-name", has_text=dym_target).first.click()
    assert pg.locator("#h-chosen").get_attribute("data-name") == dym_target
    want = next(p for p in dym_answer["results"] if p["name"] == dym_target)["point"]
    assert [float(v) for v in point_fields(pg)[:2]] == [pytest.approx(want[0]), pytest.approx(want[1])]
    assert not pg.errors, pg.errors
    ctx.close()


@pytest.mark.browser
def test_outside_the_county_and_an_api_error_are_shown(browser, live_server, heyang_live):
    ctx, pg = open_hotline(browser, live_server)
    look_up(pg, "西安市雁塔区")
    note = pg.locator("#h-note")
    assert note.is_visible() and "outside" in note.get_attribute("class").split()
    assert note.locator(".flag-outside").inner_text() == "县域外"
    assert "西安市不在本县" in note.locator(".note-text").inner_text()
    assert pg.locator("#h-places li[role=option]").count() == 0
    assert pg.locator("#h-chosen").is_hidden() and point_fields(pg)[:2] == ("", "")

    # The field's maxlength binds typing, not a pasted script value: the geocoder refuses text
    # over 100 characters with a 400 naming `q`, and the page says so instead of dropping it.
    long_text = "凤" * 120
    pg.evaluate("""(t) => {
      const i = document.getElementById('h-address');
      i.value = t;
      i.dispatchEvent(new Event('input', {bubbles: true}));
    }""", long_text)
    pg.wait_for_function(LOOKUP_DONE, arg=[long_text])
    error = pg.locator("#h-lookup-error")
    assert error.is_visible() and error.get_attribute("data-code") == "invalid"
    assert "q:" in error.inner_text()
    assert note.is_hidden() and pg.locator("#h-lookup").get_attribute("data-state") == "error"

    # The next good answer clears the error.
    look_up(pg, "泰山社区")
    assert error.is_hidden() and option_names(pg)[0] == "泰山社区"
    assert not pg.errors, pg.errors
    ctx.close()
