"""Opens the built docs site in headless Chromium and reports what a reader would see broken.

A small client of the Chrome DevTools Protocol (CDP) over tornado's
websocket (tornado comes with Jupyter; the protocol is Chromium's own, so
no browser download and no driver version to match): one browser, one tab,
every page loaded in turn.

For each page it records JavaScript exceptions, console errors (failed
resource loads included), images that did not load, formulas MathJax did
not render, and links to files or anchors that do not exist. Links to other
sites are listed but not followed (the check runs offline).

Chromium comes from Debian's ``chromium`` package (``make chromium``).
"""

import asyncio
import base64
import html.parser
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Full-page screenshots saved beside the site (docs/_build/screenshots/): the gallery and a topic page.
SCREENSHOTS = {"gallery.png": "_generated/gallery.html", "topic_lstm_gru.png": "topics/lstm_gru.html"}
PAGE_TIMEOUT_S = 30
# True once MathJax 2 has typeset the page (at once on pages without MathJax): its startup
# signal has posted "End" (after the first typeset) and its queue is idle.
_MATHJAX_DONE = """(() => {
  const mj = window.MathJax;
  if (!mj || !mj.Hub) return document.readyState === "complete";
  return mj.Hub.Startup.signal.posted.some(m => String(m) === "End") && !mj.Hub.queue.pending
      && !mj.Hub.queue.running;
})()"""
_INSPECT = """(() => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0)
      .map(i => i.getAttribute('src'));
  const maths = [...document.querySelectorAll('.math')];
  const unrendered = maths.filter(m => !m.querySelector('.MathJax_SVG, .MathJax_SVG_Display, svg'))
      .map(m => m.textContent.slice(0, 80));
  const errors = [...document.querySelectorAll('.MathJax_Error, [data-mjx-error], .merror')]
      .map(e => e.textContent.slice(0, 80));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  return {title: document.title, images: document.images.length, broken_images: broken,
          math: maths.length, unrendered_math: unrendered, math_errors: errors, links: links};
})()"""


def find_chromium():
    """The path of a Chromium binary, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


def _anchors(path, cache):
    if path not in cache:
        parser = _Ids()
        parser.feed(path.read_text(errors="replace"))
        cache[path] = parser.ids
    return cache[path]


def check_links(links, site):
    """Links among ``links`` (absolute URLs of one page) that point into ``site`` at a
    missing file or a missing anchor; other schemes are skipped."""
    site = Path(site).resolve()
    broken, cache = [], {}
    for url in links:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "file":
            continue
        target = Path(urllib.parse.unquote(parts.path))
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(url)
        elif parts.fragment and target.suffix == ".html" and site in target.resolve().parents:
            if urllib.parse.unquote(parts.fragment) not in _anchors(target, cache):
                broken.append(url)
    return broken


class Browser:
    """Headless Chromium driven over CDP: ``async with Browser() as b: await b.open(url)``."""

    def __init__(self, binary=None, width=1280, height=900):
        self.binary = binary or find_chromium()
        if self.binary is None:
            raise FileNotFoundError("Chromium not found; install Debian's chromium (`make chromium`, or "
                                    "`sudo apt-get install chromium`).")
        self.width, self.height = width, height
        self._id = 0
        self._pending = {}
        self._events = []

    async def __aenter__(self):
        from tornado.websocket import websocket_connect

        self._profile = tempfile.mkdtemp(prefix="adl-chromium-")
        args = [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--mute-audio",
                "--remote-debugging-port=0", f"--user-data-dir={self._profile}",
                "--allow-file-access-from-files", f"--window-size={self.width},{self.height}", "about:blank"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ws_url, deadline = None, time.monotonic() + 30
        while ws_url is None and time.monotonic() < deadline:
            line = await asyncio.get_running_loop().run_in_executor(None, self._proc.stderr.readline)
            if not line and self._proc.poll() is not None:
                break
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            ws_url = match.group(1) if match else None
        if ws_url is None:
            self._proc.kill()
            raise RuntimeError(f"{self.binary} did not start its DevTools endpoint within 30 s.")
        self._ws = await websocket_connect(ws_url, max_message_size=256 << 20)
        self._reader = asyncio.ensure_future(self._read())
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        self._session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self.send(f"{domain}.enable", session=True)
        await self.send("Emulation.setDeviceMetricsOverride", session=True, width=self.width, height=self.height,
                        deviceScaleFactor=1, mobile=False)
        return self

    async def __aexit__(self, *exc):
        self._reader.cancel()
        self._ws.close()
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        shutil.rmtree(self._profile, ignore_errors=True)

    async def _read(self):
        while True:
            message = await self._ws.read_message()
            if message is None:
                return
            data = json.loads(message)
            future = self._pending.pop(data.get("id"), None)
            if future is not None:
                if "error" in data:
                    future.set_exception(RuntimeError(f"CDP error: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
            elif "method" in data:
                self._events.append(data)

    async def send(self, method, session=False, **params):
        """Sends one CDP command (to the page's session when ``session``) and returns its result."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        future = asyncio.get_running_loop().create_future()
        self._pending[self._id] = future
        await self._ws.write_message(json.dumps(message))
        return await asyncio.wait_for(future, PAGE_TIMEOUT_S)

    async def evaluate(self, expression, await_promise=False):
        result = await self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                                 awaitPromise=await_promise)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def open(self, url):
        """Loads ``url``, waits for the load event and MathJax, and returns what was found."""
        self._events.clear()
        await self.send("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + PAGE_TIMEOUT_S
        while not any(e["method"] == "Page.loadEventFired" for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading within {PAGE_TIMEOUT_S} s")
            await asyncio.sleep(0.05)
        while not await self.evaluate(_MATHJAX_DONE):
            if time.monotonic() > deadline:
                raise TimeoutError(f"MathJax did not finish typesetting {url} within {PAGE_TIMEOUT_S} s")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # late console messages (e.g. a failed lazy image)
        report = await self.evaluate(_INSPECT)
        report["js_errors"] = self._errors()
        return report

    def _errors(self):
        out = []
        for e in self._events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                details = p.get("exceptionDetails", {})
                out.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                        for a in p.get("args", [])))
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                entry = p["entry"]
                out.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        return out

    async def screenshot(self, url, path, full_page=True):
        """Saves a PNG of ``url`` (the whole page height when ``full_page``) to ``path``."""
        await self.open(url)
        params = {"format": "png"}
        if full_page:
            metrics = await self.send("Page.getLayoutMetrics", session=True)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": self.width, "height": min(size["height"], 8000), "scale": 1})
        shot = await self.send("Page.captureScreenshot", session=True, **params)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(shot["data"]))
        return Path(path)


def check_site(site, screenshots=None, binary=None):
    """Opens every HTML page of the built site ``site``.

    Args:
        site: the folder with ``index.html``.
        screenshots: ``{file name: page path relative to site}`` to save
            full-page PNGs of, into ``site/../screenshots/``.
        binary: the Chromium binary (default: found on PATH).

    Returns:
        dict with ``problems`` (page -> what is wrong on it), ``reports``
        (page -> images and formulas found), ``external`` (links to other
        sites, not followed) and ``screenshots`` (paths saved).
    """
    site = Path(site).resolve()
    pages = sorted(site.rglob("*.html"))

    async def run():
        problems, reports, external, saved = {}, {}, set(), []
        async with Browser(binary) as browser:
            for page in pages:
                report = await browser.open(page.as_uri())
                reports[str(page.relative_to(site))] = {k: report[k] for k in ("title", "images", "math")}
                found = [*report["js_errors"]]
                found += [f"image did not load: {src}" for src in report["broken_images"]]
                found += [f"math not rendered: {t!r}" for t in report["unrendered_math"]]
                found += [f"math error: {t!r}" for t in report["math_errors"]]
                found += [f"broken link: {u}" for u in check_links(report["links"], site)]
                external |= {u for u in report["links"] if urllib.parse.urlsplit(u).scheme in ("http", "https")}
                if found:
                    problems[str(page.relative_to(site))] = found
            for name, rel in (screenshots or {}).items():
                saved.append(await browser.screenshot((site / rel).as_uri(), site.parent / "screenshots" / name))
        return {"problems": problems, "reports": reports, "external": sorted(external), "screenshots": saved}

    return asyncio.run(run())


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m adl_keras.testing.browser",
                                     description="open every page of a built docs site in headless Chromium")
    parser.add_argument("site", nargs="?", default="docs/_build/html")
    args = parser.parse_args(argv)
    result = check_site(args.site, SCREENSHOTS)
    for page, found in result["problems"].items():
        for item in found:
            print(f"{page}: {item}")
    print(f"{len(result['reports'])} pages opened, {sum(map(len, result['problems'].values()))} problems, "
          f"{len(result['external'])} external links not followed; screenshots: "
          f"{', '.join(map(str, result['screenshots']))}")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
