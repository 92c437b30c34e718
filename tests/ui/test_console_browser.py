"""The console in a real browser (headless Chromium) against a real API process: every page renders the numbers
the API's JSON holds, updates arrive over SSE without a reload, a violation clicks through to its evidence, the
gateway control refuses without the token and works with it, and /docs renders with the network cut off."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from console_fixtures import TOKEN, Console

pytestmark = pytest.mark.timeout(600)
PAGES = ("cluster", "apps", "violations", "serving", "reports")


def _signed_in(browser: Any, console: Console, width: int = 1280, height: int = 900) -> Any:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{console.ui}/login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/?$"))
    return page


def _shoot(page: Any, shots: list[Path], name: str) -> None:
    for folder in shots:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def _text(page: Any, selector: str) -> str:
    return str(page.locator(selector).first.inner_text()).strip()


def test_rohe_ui_prints_the_console_url(console: Console) -> None:
    assert console.printed == f"rohe console: {console.ui}"


def test_the_console_needs_the_token(browser: Any, console: Console) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{console.ui}/apps")
    assert "/ui/login" in page.url
    page.fill("#token", "wrong-token-wrong-token")
    page.click("button[type=submit]")
    assert "Wrong token" in page.inner_text("main")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/apps$"))  # back to the page that asked
    page.context.close()


def test_every_page_shows_the_apis_numbers(browser: Any, console: Console, shots: list[Path]) -> None:
    page = _signed_in(browser, console)
    nodes = console.api("GET", "/orchestration/nodes").json()
    queued = console.api("GET", "/orchestration/replicas", params={"status": "queueing"}).json()
    page.goto(f"{console.ui}/cluster")
    page.wait_for_selector("body[data-updates]")  # the first SSE update arrived
    assert _text(page, "[data-total=nodes]") == str(len(nodes))
    assert _text(page, "[data-total=queued]") == str(len(queued))
    assert _text(page, "[data-total=placed]") == str(sum(len(n["replicas"]) for n in nodes))
    busiest = max(nodes, key=lambda n: n["cpu_used"])
    row = page.locator(f"tr[data-node='{busiest['node']['name']}']")
    assert row.locator("[data-col='1']").inner_text().strip() == str(busiest["cpu_used"])
    assert row.locator("[data-col='2']").inner_text().strip() == str(busiest["cpu_free"])
    cordoned = page.locator("tr[data-node='edge-0001'] [data-col='0']").inner_text()
    assert "cordoned" in cordoned
    assert "huge-model" in page.inner_text("#queue")
    _shoot(page, shots, "cluster")

    page.select_option("#algorithm", "optimal")
    page.click("#plan-form button")
    page.wait_for_selector("#plan:not([hidden]) tbody tr")
    assert "optimal" in _text(page, "#plan-status")

    page.goto(f"{console.ui}/apps")
    page.wait_for_selector("body[data-updates]")
    for consumer in console.seeded.consumers:
        latest = console.api("GET", "/observation/apps/vision/windows",
                             params={"consumer": consumer, "limit": 1}).json()[-1]
        card = page.locator(f"[data-consumer='vision/r1/{consumer}']")
        shown = float(card.locator("[data-field=p99]").inner_text())
        assert shown == pytest.approx(latest["end_to_end"]["p99_ms"], abs=0.05)
        assert card.locator("svg[data-chart=latency] path").count() == 2  # p50 and p99 drawn
        assert "deadline" in card.locator("svg[data-chart=latency]").inner_html()
    first = page.locator(f"[data-consumer='vision/r1/{console.seeded.consumers[0]}'] [data-field=status]")
    assert "violated" in first.inner_text()  # the seeded slowdown crosses the deadline
    _shoot(page, shots, "applications")

    violations = console.api("GET", "/observation/apps/vision/violations").json()
    page.goto(f"{console.ui}/violations")
    page.wait_for_selector("body[data-updates]")
    assert _text(page, "[data-total=violation_count]") == str(len(violations))
    assert violations[0]["explanation"] in page.inner_text("#violations")
    _shoot(page, shots, "violations")

    page.goto(f"{console.ui}/serving")
    page.wait_for_selector("tr[data-policy]")
    gateway = console.api("GET", "/ui/api/serving").json()["apps"][0]["gateway"]
    assert gateway["reachable"] is True
    assert page.locator("tr[data-policy]").count() == len(gateway["consumers"])
    _shoot(page, shots, "serving")

    page.goto(f"{console.ui}/reports")
    page.click("text=load-run-1")
    page.wait_for_selector("table.report-table")
    assert "accuracy-first" in page.inner_text("table.report-table")
    assert page.locator(".plot img").evaluate("img => img.naturalWidth") > 0  # the PNG was served
    _shoot(page, shots, "reports")
    page.context.close()


def test_a_violation_clicks_through_to_its_evidence(browser: Any, console: Console, shots: list[Path]) -> None:
    page = _signed_in(browser, console)
    page.goto(f"{console.ui}/violations")
    violation = console.api("GET", "/observation/apps/vision/violations").json()[0]
    page.click(f"li[data-id='{violation['violation_id']}'] a.evidence")
    page.wait_for_url(re.compile(rf"/ui/violations/{violation['violation_id']}$"))
    assert violation["clause"] in page.inner_text("#violation")
    windows = console.api("GET", "/observation/apps/vision/windows",
                          params={"consumer": violation["consumer"], "limit": 1}).json()
    shown = page.locator(f".window[data-consumer='{violation['consumer']}'] .p99").first.inner_text()
    assert float(shown) == pytest.approx(windows[-1]["end_to_end"]["p99_ms"], abs=0.05)
    assert "inference" in page.inner_text("main")  # the ranked cause
    _shoot(page, shots, "evidence")
    page.context.close()


def test_the_policy_control_needs_the_token(browser: Any, console: Console) -> None:
    import httpx

    def algorithm_at_gateway() -> str:
        rows = httpx.get(f"{console.gateway}/consumers", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        return str(next(r["algorithm"] for r in rows if r["consumer"] == "fast-and-cheap"))

    before = algorithm_at_gateway()
    page = _signed_in(browser, console)
    page.goto(f"{console.ui}/serving")
    form = page.locator("form.policy[data-consumer='fast-and-cheap']")
    options = [o for o in form.locator("option").all_inner_texts() if o != before]
    form.locator("select").select_option(options[0])
    form.locator("button[type=submit]").click()  # the session cookie alone must not change anything
    page.wait_for_function("document.getElementById('control-status').textContent.includes('Not changed')")
    assert "needs the API token" in _text(page, "#control-status")
    assert algorithm_at_gateway() == before

    page.fill("#token", TOKEN)
    form.locator("button[type=submit]").click()
    page.wait_for_function("document.getElementById('control-status').textContent.includes('✔')")
    assert algorithm_at_gateway() == options[0]
    cell = "document.querySelector(\"tr[data-policy='fast-and-cheap'] [data-field=algorithm]\")"
    page.wait_for_function(f"{cell}.textContent === '{options[0]}'")  # the SSE update shows the gateway's state
    page.context.close()


def test_updates_arrive_over_sse_without_a_reload(browser: Any, console: Console) -> None:
    page = _signed_in(browser, console)
    page.goto(f"{console.ui}/cluster")
    page.wait_for_selector("body[data-updates]")
    page.evaluate("window.__notReloaded = true")
    count = int(_text(page, "[data-total=nodes]"))
    added = console.api("POST", "/orchestration/nodes",
                        json={"name": "edge-late", "cores": [1000, 1000], "memory": {"rss": 2048, "vms": 2048}})
    assert added.status_code == 201
    page.wait_for_function(f"document.querySelector('[data-total=nodes]').textContent === '{count + 1}'",
                           timeout=30_000)
    assert page.evaluate("window.__notReloaded") is True
    page.context.close()


def test_tablet_width_has_no_horizontal_scroll(browser: Any, console: Console, shots: list[Path]) -> None:
    page = _signed_in(browser, console, width=768, height=1024)
    for name in PAGES:
        page.goto(f"{console.ui}/{name}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} scrolls sideways by {overflow}px at 768 px"
    page.goto(f"{console.ui}/apps")
    _shoot(page, shots, "applications-tablet")
    page.context.close()


def test_docs_render_with_the_network_cut_off(browser: Any, console: Console) -> None:
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {TOKEN}"})
    blocked: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(console.base):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(f"{console.base}/docs")
    page.wait_for_selector("#swagger-ui .opblock", timeout=30_000)
    assert blocked == []
    context.close()
