"""`klad demo` in a real browser (Debian's chromium) on a machine kept busy, as a class would use it.

Two bounded busy loops keep both cores busy while the test plays and pauses ten times, moves a lever while
playing (it snaps to round values), downloads a chart and the daily table, makes an exercise ready with the
picker and plays it to its last day, checks that what a class needs is on one screen of 1366x768 and that the
readouts say one number each, reloads while playing, opens three tabs, and then stops the server with Ctrl-C
(SIGINT). Every wait is for a condition on the page or the server, never a fixed sleep. Screenshots at
1366x768 and 1920x1080 go to results/demo/ (KLAD_UPDATE_SCREENSHOTS=1: also to docs/demo/).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import interruptible

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "results" / "demo"
DOCS_SHOTS = ROOT / "docs" / "demo"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
]  # fmt: skip
#: Seconds of each busy loop at the most: they end by themselves if the test is killed.
BUSY_SECONDS = 600
#: What must not appear in the server's log.
SERVER_ERRORS = re.compile(r"Traceback|Too many renders|closed kernel|Error|Exception|could not show", re.I)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.e2e,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it with apt-get)"
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(condition, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(poll)


@pytest.fixture
def busy_cpu():
    """Two bounded busy loops, one a core, for the length of the test."""
    loop = f"import time\nend = time.monotonic() + {BUSY_SECONDS}\nwhile time.monotonic() < end:\n    pass\n"
    loops = [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(2)]
    yield loops
    for busy in loops:
        busy.kill()
        busy.wait()


@pytest.fixture
def server(tmp_path):
    """`klad demo` on a free loopback port, with Ctrl-C's default meaning; its log in a file."""
    port = free_port()
    klad_script = Path(sys.executable).with_name("klad")
    command = [str(klad_script)] if klad_script.exists() else [sys.executable, "-m", "sim"]
    log = tmp_path / "server.log"
    # A page gone without closing is freed after 5 s here (60 s by default), so that the test sees it.
    env = {**os.environ, "DISPLAY": "", "SOLARA_KERNEL_CULL_TIMEOUT": "5s"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*command, "demo", "--port", str(port), "--no-browser"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, env=env, preexec_fn=interruptible,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"

    def answers() -> bool:
        assert proc.poll() is None, f"klad demo stopped:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(answers, 120, "klad demo to answer", poll=0.5)
        assert f"serving {url}" in log.read_text()
        yield proc, url, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        print(f"the server's log (its end):\n{log.read_text()[-4000:]}")  # pytest shows it if the test failed


# ------------------------------------------------------------------ the page, read and driven
def day(page) -> int:
    return int(page.locator(".klad-day").inner_text().split()[-1])


def wait_for_day(page, low: int, timeout: float = 60_000) -> None:
    shown = "const d = document.querySelector('.klad-day'); return d && +d.innerText.split(' ').pop()"
    try:
        page.wait_for_function(f"() => {{ {shown} >= {low}; }}", timeout=timeout)
    except Exception as exc:  # what the page showed instead, to tell a slow market from a stopped one
        controls = page.locator(".klad-controls").inner_text(timeout=5_000)
        messages = page.locator(".klad-message").all_inner_texts()
        raise AssertionError(f"day {low} not shown in {timeout / 1000:.0f} s; the controls read {controls!r}, "
                             f"messages {messages}") from exc  # fmt: skip


def wait_playing(page, playing: bool, timeout: float = 30_000) -> None:
    word = "Pause" if playing else "Play"
    page.wait_for_function(
        f"() => {{ const b = document.querySelector('.klad-play'); return b && b.innerText.includes('{word}'); }}",
        timeout=timeout,
    )


def open_page(browser, url: str, width: int = 1366, height: int = 768):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_selector(".klad-chart-A-volume img", timeout=120_000)
    page.wait_for_selector(".klad-day", timeout=60_000)
    return page


def run_to(page, target: int) -> None:
    field = page.locator(".klad-target input")
    field.fill(str(target))
    field.press("Enter")
    page.locator(".klad-go").click()
    wait_for_day(page, target, timeout=120_000)
    wait_playing(page, False)


def screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), type="jpeg", quality=70)
    if os.environ.get("KLAD_UPDATE_SCREENSHOTS"):
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SHOTS / name)
    return path


#: What a class needs on one screen: the controls, the shocks, the readouts, the map, the storefront table and the
#: main charts.
ONE_SCREEN = (
    ".klad-controls", ".klad-shock-block", ".klad-readouts-A", ".klad-map img", ".klad-storefronts",
    ".klad-chart-A-volume img", ".klad-chart-A-price img", ".klad-chart-A-people img", ".klad-chart-A-shops img",
)  # fmt: skip
#: Each readout: a metric and one number (the run against the grey run over the same days).
READOUT = re.compile(r"(drugs sold|couriers at work|retail price|courier pay) ([+\u2212]\d+%|0%|n/a)")


def assert_on_one_screen(page, width: int, height: int) -> None:
    """Everything a class needs lies inside the window, unscrolled, and the storefront table is whole.

    The pictures are drawn anew one by one after a change of layout, so this first waits (up to a minute)
    for every box to lie inside; the assertions below then say which one does not, if one never does.
    """
    inside = (
        "(sels) => sels.every(s => { const e = document.querySelector(s); if (!e) return false;"
        f" const r = e.getBoundingClientRect(); return r.left >= 0 && r.top >= 0"
        f" && r.right <= {width} + 0.5 && r.bottom <= {height} + 0.5; }})"
    )
    try:
        page.wait_for_function(inside, arg=list(ONE_SCREEN), timeout=60_000)
    except Exception:  # noqa: BLE001 - the assertions below name the box that lies outside
        pass
    assert page.evaluate("() => [window.scrollX, window.scrollY]") == [0, 0]
    for selector in ONE_SCREEN:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= width + 0.5 and box["y"] + box["height"] <= height + 0.5, (selector, box)
    # Not clipped: the table is as wide as its box (no hidden last column) and every shop's row is in view.
    table = page.locator(".klad-storefronts")
    inner = table.evaluate("e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]")
    assert inner[0] <= inner[1] and inner[2] <= inner[3], inner
    last = page.locator(".klad-storefronts tr").last.locator("td").last.bounding_box()
    box = table.bounding_box()
    assert last["x"] + last["width"] <= box["x"] + box["width"] + 0.5 and last["y"] + last["height"] <= height


def storefront_counts(page) -> tuple[dict[str, int], int, int]:
    """The storefront panel's counts by state, the shops in business it says they add up to, and its rows."""
    words = page.locator(".klad-storefront-count").inner_text()
    found = re.fullmatch(
        r"(\d+) open \+ (\d+) found and still open \+ (\d+) blocked = (\d+) shops in business", words.strip()
    )
    assert found, words
    counts = dict(zip(("open", "found", "blocked"), map(int, found.groups()[:3]), strict=True))
    return counts, int(found.group(4)), page.locator(".klad-storefronts tr").count() - 1


SMALL_TEXT = """() => {
  const small = [];
  for (const el of document.querySelectorAll('.klad-page *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 14) small.push(el.tagName + ' ' + size + 'px: ' + el.textContent.trim().slice(0, 40));
  }
  return small;
}"""


def test_a_lecture_on_a_busy_machine(server, busy_cpu, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the dev extra) is not installed")
    proc, url, log = server
    timings: dict[str, list[float]] = {"pause seconds": [], "days after pause": []}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = open_page(browser, url)
            bad = []
            page.on("response", lambda r: bad.append((r.status, r.url)) if r.status >= 400 else None)

            # Projector mode: controls first, text of 14 px at least, Mesa's and Solara's own controls gone.
            text = page.locator("body").inner_text()
            for gone in ("Page 0", "Render Interval", "Use Threads", "Solara"):
                assert gone.lower() not in text.lower(), gone
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), "a parameter's name on the page"
            assert page.locator(".klad-play").bounding_box()["y"] < 200  # above the fold of a 768 px projector
            assert page.locator(".klad-shock-block").bounding_box()["y"] < 300
            assert page.evaluate(SMALL_TEXT) == []
            page.get_by_text("desk", exact=True).click()  # smaller text for a desk, still 14 px at least
            page.wait_for_selector(".klad-desk")
            assert page.evaluate(SMALL_TEXT) == []
            page.get_by_text("projector", exact=True).click()
            page.wait_for_function("() => !document.querySelector('.klad-desk')")
            scroller = page.locator(".klad-storefronts")
            assert scroller.evaluate("e => getComputedStyle(e).overflowY") == "auto"

            # Ten times play, pause, play: the day goes on each time, and Pause stops it at once.
            for cycle in range(10):
                start = day(page)
                page.locator(".klad-play").click()
                wait_playing(page, True)
                wait_for_day(page, start + 3)
                if cycle == 9:  # how it keeps up: frames a second, drawing time, days a second
                    wait_for_day(page, start + 30)
                    stats = page.locator(".klad-frame-stats").inner_text()
                clicked_at = day(page)
                began = time.monotonic()
                page.locator(".klad-play").click()
                wait_playing(page, False)
                timings["pause seconds"].append(time.monotonic() - began)
                timings["days after pause"].append(day(page) - clicked_at)

            # A lever moved while playing is not lost; a shock while playing acts the next day.
            page.locator(".klad-play").click()
            wait_playing(page, True)
            page.locator(".klad-levers-toggle").click()
            severity = page.get_by_role("slider", name=re.compile("^Prison terms"))
            assert page.locator(".klad-lever-severity .klad-lever-min").inner_text() == "x0"  # its range, shown
            assert page.locator(".klad-lever-severity .klad-lever-max").inner_text() == "x5"
            severity.focus()
            severity.press("ArrowRight")  # one step: from x1 to the next round value
            page.locator(".klad-change-list", has_text="prison terms x1.5").wait_for(timeout=120_000)
            page.locator(".klad-lever-severity .klad-lever-value", has_text="x1.5").wait_for(timeout=60_000)
            page.locator(".klad-levers-toggle").click()  # hidden again
            page.locator(".klad-shock-crackdown").click()
            page.locator(".klad-change-list", has_text="police crackdown").wait_for(timeout=120_000)
            page.locator(".klad-play").click()
            wait_playing(page, False)

            # Run to a day and +30 days draw nothing on the way; the charts mark the changes.
            run_to(page, day(page) + 40)
            page.locator(".klad-skip").click()
            wait_for_day(page, day(page) + 30, timeout=120_000)
            wait_playing(page, False)
            page.locator(".klad-readout-line").wait_for()

            # The chart as a PNG and the run's table as CSV.
            with page.expect_download(timeout=60_000) as png:
                page.locator(".klad-chart-A-volume .klad-png").click()
            assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            with page.expect_download(timeout=60_000) as csv:
                page.get_by_text("The run's daily table (CSV)").click()
            lines = Path(csv.value.path()).read_text().splitlines()
            assert lines[0].startswith("run,day,grams_sold") and len(lines) > 2 * day(page)

            # The exercise picker: a new run of seed 1, run to day 60, the change made; Play stops on day 150.
            page.locator(".klad-exercise").click()
            page.get_by_role("option", name="Exercise 3: certainty").click()
            page.locator(".klad-stop-at", has_text="Play stops on day 150").wait_for(timeout=120_000)
            assert day(page) == 60 and "baseline, seed 1 \u2014 Exercise 3" in page.locator(".klad-header").inner_text()
            changes = page.locator(".klad-change-list").inner_text()
            assert "day 61: street detection x3" in changes and "day 61: conviction chance 90%" in changes
            page.locator(".klad-look-for", has_text="Exercise 3: certainty").wait_for(timeout=60_000)
            assert page.locator(".klad-target input").input_value() == "150"
            page.locator(".klad-speed").get_by_text("max").click()
            page.locator(".klad-play").click()
            wait_for_day(page, 150, timeout=120_000)
            wait_playing(page, False)
            assert day(page) == 150
            # One number per metric: the run against the grey run over the same days, and no sum to do.
            line = page.locator(".klad-readouts-A .klad-readout-line")
            assert "Against the grey run, last 7 days (days 144-150)" in line.inner_text()
            shown = [r.strip() for r in page.locator(".klad-readouts-A .klad-readout").all_inner_texts()]
            assert [READOUT.fullmatch(r).group(1) for r in shown] == [
                "drugs sold", "couriers at work", "retail price", "courier pay"
            ], shown  # fmt: skip
            assert "grey:" not in line.inner_text()
            page.locator(".klad-window").get_by_text("30 days").click()
            line.filter(has_text="last 30 days (days 121-150)").wait_for(timeout=60_000)
            # The storefronts' states add up to the shops in business, one row each.
            counts, in_business, rows = storefront_counts(page)
            assert sum(counts.values()) == in_business == rows, (counts, in_business, rows)
            # All a class needs on one screen, the storefront table whole, at projector and desk text sizes.
            assert_on_one_screen(page, 1366, 768)
            assert page.evaluate(SMALL_TEXT) == []
            screenshot(page, "demo-1366x768.jpg")
            drawn = page.locator(".klad-map img").evaluate("img => img.naturalWidth")
            page.get_by_text("desk", exact=True).click()
            page.wait_for_selector(".klad-desk")
            page.wait_for_function(  # the pictures drawn anew for the desk's layout
                f"() => document.querySelector('.klad-map img').naturalWidth != {drawn}", timeout=60_000
            )
            assert_on_one_screen(page, 1366, 768)
            page.get_by_text("projector", exact=True).click()
            page.wait_for_function("() => !document.querySelector('.klad-desk')")
            page.locator(".klad-speed").get_by_text("10", exact=True).click()

            # Reload while playing: a fresh market; the old one stops with its page.
            page.locator(".klad-play").click()
            wait_playing(page, True)
            page.reload()
            page.wait_for_selector(".klad-chart-A-volume img", timeout=120_000)
            assert day(page) == 0
            page.locator(".klad-play").click()
            wait_for_day(page, 5)

            # Three tabs, each its own market, all playing.
            others = [open_page(browser, url) for _ in range(2)]
            for tab in others:
                tab.locator(".klad-play").click()
            for tab in [page, *others]:
                wait_for_day(tab, day(tab) + 5)
            for tab in others:
                tab.close()

            # A wide screen, two policies side by side.
            page.locator(".klad-play").click()
            wait_playing(page, False)
            wide = open_page(browser, url, 1920, 1080)
            run_to(wide, 60)
            wide.get_by_text("two side by side").click()
            wide.wait_for_selector(".klad-chart-B-volume img", timeout=60_000)
            wide.locator(".klad-policy-A .klad-shock-penalties").click()
            wide.locator(".klad-policy-B .klad-shock-block").click()
            run_to(wide, 120)
            wide.locator(".klad-readouts-B .klad-readout-line").wait_for()
            screenshot(wide, "demo-1920x1080.jpg")
            wide.get_by_text("one policy").click()
            wide.wait_for_function("() => !document.querySelector('.klad-chart-B-volume')", timeout=60_000)
            wide.wait_for_selector(".klad-map img")
            wide.close()
            page.close()
            assert bad == [], bad  # every script, font and picture came from the demo server
        finally:
            browser.close()

    # With every tab closed, the server goes idle within seconds: no market plays on.
    def idle() -> bool:
        before = cpu_seconds(proc.pid)
        time.sleep(2.0)
        return cpu_seconds(proc.pid) - before < 0.2

    wait_until(idle, 30, "the server to go idle after its tabs closed", poll=0)

    # Ctrl-C ends the server within 5 s, even while a tab plays.
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = open_page(browser, url)
            page.locator(".klad-play").click()
            wait_for_day(page, 10)
            os.kill(proc.pid, signal.SIGINT)
            began = time.monotonic()
            code = proc.wait(5)
        finally:
            browser.close()
    print(f"\nexit after Ctrl-C while a tab played: {time.monotonic() - began:.2f} s, code {code}")
    assert code == 130
    served = log.read_text()
    assert not SERVER_ERRORS.search(served), served
    print(f"while playing at 10 days a second: {stats}")
    for name, values in timings.items():
        print(f"{name}: median {sorted(values)[len(values) // 2]:.2f}, max {max(values):.2f}")
    print(log.read_text())
    assert max(timings["pause seconds"]) < 10
