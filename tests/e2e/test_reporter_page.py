"""The reporter's own case as a page on the real stack, rendered in headless Chromium (screenshot in
.artifacts/screenshots/reporter-view.png): the stage, what happens next, the help that fits with its links, the
filer's own modelaangifte; nobody else gets the page."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import SCREENSHOTS
from tests.reporting.browser import render
from tests.support.auth import BearerAuth, headers, token
from tests.support.samples import unique_body
from tests.support.services import RunningServices
from tests.support.waiting import until_read

pytestmark = pytest.mark.e2e


async def test_the_filer_reads_the_stage_guidance_and_own_modelaangifte_on_a_page_nobody_else_gets(
    services: RunningServices, tmp_path: Path
) -> None:
    sub = f"raadslid-{uuid.uuid4().hex[:8]}"
    report = unique_body()  # online threat, home address known, aangifte wanted: police informed
    intake = services.url("intake")
    async with httpx.AsyncClient(base_url=intake, timeout=15, auth=BearerAuth("reporter", sub=sub)) as filer:
        created = await filer.post("/v1/incidents", json=report)
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        own = await until_read(filer, f"/v1/cases/{case_id}", lambda c: c["guidance"]["stage"] == "police_informed")

    path = f"/reporter/cases/{case_id}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "reporter-view.png"
    dom = await asyncio.to_thread(
        render, f"{intake}{path}?access_token={quote(token('reporter', sub=sub))}", screenshot=shot, profile=tmp_path
    )
    assert shot.stat().st_size > 5_000
    # What the JSON view says, on the page: the stage and what comes next, the help, the modelaangifte.
    assert "Politie geïnformeerd" in dom
    assert own["guidance"]["next"].split(":")[0] in dom
    for resource in own["guidance"]["resources"]:
        assert resource["title"] in dom
        if resource["url"]:
            assert f'href="{resource["url"]}"' in dom
    assert "Uw modelaangifte" in dom
    assert report["incident"]["description"].replace("'", "&#x27;") in dom or report["incident"]["description"] in dom
    assert "art. 285 Sr" in dom

    async with httpx.AsyncClient(base_url=intake, timeout=15) as anyone:
        for who, hdrs in {
            "another reporter": headers("reporter"),
            "the police it was routed to": headers("police"),
            "admin with break-glass": {**headers("admin"), "X-Break-Glass-Reason": "reporter page test"},
        }.items():
            refused = await anyone.get(path, headers=hdrs)
            assert refused.status_code == 403, who
            assert refused.headers["content-type"] == "application/problem+json"
        assert (await anyone.get(path)).status_code == 401
        page = await anyone.get(path, headers=headers("reporter", sub=sub))
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
