"""The inspector in a real browser: Debian's headless Chromium, driven by Playwright.

No browser is downloaded: Playwright launches the ``chromium`` on the PATH (``.ci/run`` installs
Debian's, and sets ``COGOS_REQUIRE_BROWSER`` so that these tests cannot skip there;
``COGOS_CHROMIUM`` names another executable). Screenshots are kept in ``test-artifacts/inspector``
(or ``$COGOS_ARTIFACTS``) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cogos.inspector.server import InspectorServer
from cogos.inspector.workspace import open_workspace
from cogos.trace import read_trace
from memory import MemoryOS

CHROMIUM = os.environ.get("COGOS_CHROMIUM") or shutil.which("chromium")
if CHROMIUM is None and os.environ.get("COGOS_REQUIRE_BROWSER"):  # CI sets it: never skip there
    raise RuntimeError("COGOS_REQUIRE_BROWSER is set, but there is no chromium on the PATH")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium on the PATH (apt-get install chromium)"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the dev extra)")


@pytest.fixture
def artifacts(repo_root: Path) -> Path:
    out = Path(os.environ.get("COGOS_ARTIFACTS") or repo_root / "test-artifacts") / "inspector"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def page(critic_run: Path, memory_dir: Path) -> Iterator[tuple[Any, str, list[str]]]:
    workspace = open_workspace([critic_run, memory_dir])
    errors: list[str] = []
    try:
        with InspectorServer(workspace) as server, sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})

            def console(message: Any) -> None:
                if message.type == "error":
                    errors.append(message.text)

            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.on("console", console)
            yield tab, server.url, errors
            browser.close()
    finally:
        workspace.close()


def shown_candidates(tab: Any) -> list[tuple[str, float]]:
    rows = tab.get_by_test_id("attempt").first.get_by_test_id("candidate")
    return sorted(
        (rows.nth(i).get_attribute("data-name"), float(rows.nth(i).get_attribute("data-value")))
        for i in range(rows.count())
    )


def test_stepping_through_an_episode_shows_what_the_trace_holds(
    page: tuple[Any, str, list[str]], critic_run: Path, artifacts: Path
) -> None:
    tab, url, errors = page
    lines = read_trace(critic_run / "trace.jsonl")
    vetoed = next(
        r for r in lines if r["type"] == "cycle" and r["decision"]["attempts"][0]["rejection"]
    )
    episode = vetoed["episode"]
    cycles = [r for r in lines if r["type"] == "cycle" and r["episode"] == episode]
    tab.goto(url + "#/run/inspected")
    tab.locator(f"[data-testid=episode-row][data-episode='{episode}']").click()
    tab.get_by_test_id("frame").wait_for()
    label = tab.get_by_test_id("cycle-label")
    assert label.inner_text().startswith(f"cycle 0 of {len(cycles)}")
    for _ in range(3):  # the keys step through the cycles
        tab.keyboard.press("ArrowRight")
    tab.keyboard.press("ArrowLeft")
    assert label.inner_text().startswith("cycle 2 of")
    first = cycles[2]["decision"]["attempts"][0]
    assert shown_candidates(tab) == sorted((c["name"], c["value"]) for c in first["candidates"])
    assert (
        tab.get_by_test_id("choice").inner_text()
        == f"choice {cycles[2]['decision']['choice']['name']}"
    )

    tab.get_by_test_id("cycle-slider").fill(str(vetoed["cycle"]))  # the slider jumps
    rejection = vetoed["decision"]["attempts"][0]["rejection"]
    shown = tab.get_by_test_id("rejection").first
    assert shown.get_attribute("data-by") == rejection["by"] == "test.no_west"
    assert shown.inner_text() == f"Rejected by {rejection['by']}: {rejection['reason']}"
    assert shown_candidates(tab) == sorted(
        (c["name"], c["value"]) for c in vetoed["decision"]["attempts"][0]["candidates"]
    )
    marks = tab.get_by_test_id("timeline-mark")
    assert marks.count() == len(cycles)
    rejected = [i for i in range(len(cycles)) if "rejected" in marks.nth(i).get_attribute("class")]
    assert rejected == [
        i for i, c in enumerate(cycles) if any(a["rejection"] for a in c["decision"]["attempts"])
    ]
    assert "goal" in marks.nth(len(cycles) - 1).get_attribute("class")
    why = tab.get_by_test_id("why").inner_text()
    assert f"Step {vetoed['step']}" in why and rejection["reason"] in why
    assert (
        tab.get_by_test_id("durations").inner_text().count("µs") == len(vetoed["durations_us"]) + 1
    )
    frame = tab.get_by_test_id("frame")
    frame.wait_for()
    assert tab.evaluate("document.querySelector('[data-testid=frame]').naturalWidth") >= 300
    tab.screenshot(path=str(artifacts / "episode.png"), full_page=True)
    marks.nth(1).click()  # the timeline jumps too
    assert label.inner_text().startswith("cycle 1 of")
    assert errors == []


def test_a_memory_search_in_the_browser_shows_the_memorys_answer(
    page: tuple[Any, str, list[str]], memory_dir: Path, artifacts: Path, tmp_path: Path
) -> None:
    tab, url, errors = page
    copy = tmp_path / "copy"
    shutil.copytree(memory_dir, copy)
    with MemoryOS.open(copy) as memory:
        expected = [h["item"]["text"] for h in memory.explain("golden retriever park", k=20)]
    tab.goto(url + "#/memory/memory")
    box = tab.get_by_test_id("search-input")
    box.fill("golden retriever park")
    box.press("Enter")
    tab.get_by_test_id("hit").first.wait_for()
    texts = tab.get_by_test_id("hit-text").all_inner_texts()
    assert texts == expected and texts[0] == "A golden retriever, he loves the park."
    assert tab.get_by_test_id("hit-lexical").first.inner_text().startswith("#1 (")
    tab.get_by_test_id("hit").first.locator("a").first.click()
    tab.get_by_test_id("graph").locator("svg").wait_for()
    assert "he loves the park" in tab.get_by_test_id("item-text").inner_text()
    tab.screenshot(path=str(artifacts / "memory-item.png"), full_page=True)
    assert errors == []
