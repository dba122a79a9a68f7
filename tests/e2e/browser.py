"""A real browser for the end-to-end tests: Debian's chromium driven by playwright-core through
`tests/browser/sep24.mjs` (installed by `bash tests/run.sh`: `apt-get install chromium`, then
`npm ci` in tests/browser). A test hands it a list of steps and gets back, per step, what the
page showed: URL, HTTP status, `[data-field]`, `[data-instruction]`, field and form errors, the
error page, the live fee, the form's inputs, cookies, JavaScript errors.

    pages = browse([open_(url), fill(amount="100"), submit()])
    assert pages[-1].instructions["organization.reference"].startswith("MOOR-")
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "tests" / "browser" / "sep24.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def open_(url: str, context: str = "main") -> dict:
    """Load a URL in a browser context; a context name used for the first time is a fresh
    browser profile (no cookies): "second" stands for another browser."""
    return {"do": "open", "url": url, "context": context}


def fill(type_keys: bool = True, **fields: str) -> dict:
    """Fill the form's fields by name; by default typed key by key, as a person would (the live
    fee follows the amount)."""
    return {"do": "fill", "fields": fields, "type": type_keys}


def submit() -> dict:
    return {"do": "submit"}


def state() -> dict:
    return {"do": "state"}


def screenshot(path: str | Path) -> dict:
    return {"do": "screenshot", "path": str(path)}


@dataclass
class Page:
    """What the browser showed after one step."""

    url: str
    status: int | None
    lang: str | None
    fields: dict[str, str]
    instructions: dict[str, str]
    field_errors: list[dict]
    form_errors: list[str]
    error_page: str | None
    fee: str | None
    amount_out: str | None
    form: dict | None
    text: str
    cookies: list[dict]
    errors: list[str]
    context: str = "main"
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, result: dict) -> "Page":
        names = cls.__dataclass_fields__.keys() - {"raw"}
        return cls(**{name: result.get(name) for name in names}, raw=result)

    @property
    def inputs(self) -> list[str]:
        """The visible inputs of the form (empty when the page has none)."""
        return list((self.form or {}).get("inputs", []))

    def field_error(self, name: str) -> str | None:
        return next((e["text"] for e in self.field_errors if e.get("for") == name), None)


class BrowserError(AssertionError):
    pass


def available() -> str | None:
    """None when the browser can run, else why not."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (bash tests/run.sh installs Debian's chromium)"
    if shutil.which("node") is None:
        return "node is missing"
    if not (DRIVER.parent / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (npm ci in tests/browser; bash tests/run.sh does it)"
    return None


def browse(steps: list[dict], timeout_ms: int = 15000, screenshot_dir: Path | None = None) -> list[Page]:
    """Runs the steps in a fresh browser; returns one Page per step, or raises BrowserError
    naming the failed step with what the page showed then."""
    problem = available()
    if problem:
        raise BrowserError(problem)
    plan = {"steps": steps, "timeout_ms": timeout_ms}
    if screenshot_dir:
        plan["screenshot_dir"] = str(screenshot_dir)
    env = dict(os.environ)
    env["NO_PROXY"] = ",".join(filter(None, [env.get("NO_PROXY", ""), "localhost", "127.0.0.1"]))
    completed = subprocess.run(
        ["node", str(DRIVER)],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        cwd=DRIVER.parent,
        env=env,
        timeout=60 + timeout_ms * len(steps) / 1000,
    )
    try:
        output = json.loads(completed.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BrowserError(
            f"the browser driver printed no result (exit {completed.returncode}):\n"
            f"{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}"
        ) from None
    if not output.get("ok"):
        failed = output.get("failed_step")
        last = (output.get("results") or [{}])[-1]
        raise BrowserError(
            f"browser step {failed} {steps[failed] if isinstance(failed, int) else ''} failed: "
            f"{output.get('error')}\n  at {last.get('url')} (HTTP {last.get('status')}): {last.get('text', '')[:1500]}"
        )
    return [Page.of(result) for result in output["results"]]
