"""The OTWB duty officer's page on the real stack, rendered in headless Chromium (screenshots in .artifacts/): take a
report by phone, find it in the queue, open it, add a note, close it. Chromium renders each page; its forms (read
from the rendered DOM: their action and field names) are submitted as the browser submits them, form-encoded."""

from __future__ import annotations

import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.conftest import SCREENSHOTS
from tests.reporting.browser import render
from tests.support.auth import token
from tests.support.services import RunningServices

pytestmark = pytest.mark.e2e


class Forms(HTMLParser):
    """The forms of a page: action → the names of its fields (and the hidden values)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = found.get("action", "")
            self.forms[self._current] = {}
        elif tag in ("input", "select", "textarea") and self._current is not None and "name" in found:
            if found.get("type") == "checkbox" and "checked" not in found:
                return  # a browser sends only the boxes that are ticked
            self.forms[self._current][found["name"]] = found.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def _forms(dom: str) -> dict[str, dict[str, str]]:
    parser = Forms()
    parser.feed(dom)
    return parser.forms


def _shot(url: str, name: str, tmp_path: Path) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dom = render(url, screenshot=SCREENSHOTS / name, profile=tmp_path / name)
    assert (SCREENSHOTS / name).stat().st_size > 5_000
    return dom


def test_the_duty_officer_takes_a_report_by_phone_notes_and_closes_it(
    services: RunningServices, tmp_path: Path
) -> None:
    intake = services.url("intake")
    otwb = token("otwb", org="OTWB", sub=f"duty-{uuid.uuid4().hex[:8]}")
    name = f"R. Telefoon-{uuid.uuid4().hex[:8]}"
    desk = _shot(f"{intake}/desk?access_token={quote(otwb)}", "desk-queue-before.png", tmp_path)
    take = _forms(desk)["/desk/incidents"]
    assert {"access_token", "name", "role", "body_code", "occurred_at", "types", "channel", "description"} <= set(take)
    assert "home_visited" not in take, "nothing ticked"

    fields = {
        **take,
        "name": name,
        "role": "raadslid",
        "body_code": "GM0344",
        "gender": "vrouw",
        "phone": "+31 6 0000 0000",
        "occurred_at": "2026-11-20T21:30",
        "types": "verbal_aggression",
        "channel": "phone",
        "description": "Scheldpartij aan de telefoon na de raadsvergadering",
    }
    with httpx.Client(base_url=intake, timeout=15) as browser:
        taken = browser.post("/desk/incidents", data=fields)
        assert taken.status_code == 303, taken.text
        case_url = taken.headers["location"]
        case_id = urlsplit(case_url).path.rsplit("/", 1)[-1]
        bad = browser.post("/desk/incidents", data={**fields, "types": "", "name": ""})
        assert bad.status_code == 422
        assert browser.post("/desk/incidents", data={**fields, "access_token": token("police")}).status_code == 403

        deadline = time.monotonic() + 60
        while True:  # in the queue, with its level once triaged
            queue = _shot(f"{intake}/desk?access_token={quote(otwb)}", "desk-queue.png", tmp_path)
            if case_id[:12] in queue and "None" not in queue.split(case_id[:12], 1)[1].split("</tr>", 1)[0]:
                break
            assert time.monotonic() < deadline, "the report did not reach the queue triaged"
        assert name not in queue, "the queue shows no names"

        page = _shot(f"{intake}{case_url}", "desk-case.png", tmp_path)
        assert case_id in page
        note_form = _forms(page)[f"/desk/cases/{case_id}/notes"]
        noted = browser.post(f"/desk/cases/{case_id}/notes", data={**note_form, "text": "Teruggebeld, nazorg loopt"})
        assert noted.status_code == 303, noted.text
        close_form = _forms(_shot(f"{intake}{case_url}", "desk-case-noted.png", tmp_path))[
            f"/desk/cases/{case_id}/close"
        ]
        closed = browser.post(f"/desk/cases/{case_id}/close", data={**close_form, "reason": "Afgehandeld met nazorg"})
        assert closed.status_code == 303, closed.text

    final = _shot(f"{intake}{case_url}", "desk-case-closed.png", tmp_path)
    assert "Teruggebeld, nazorg loopt" in final
    assert "Afgesloten: Afgehandeld met nazorg" in final
    assert "closed" in final
