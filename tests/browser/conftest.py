"""Real-browser fixtures: the app served by gunicorn on 127.0.0.1, driven by Debian's Chromium.

``live_server`` (once per session) prepares a fresh SQLite database the way an operator would,
with the app's own commands run as subprocesses (``flask db upgrade``, ``seed-plans``,
``create-admin``, ``seed-demo``), then serves it with gunicorn in production mode (no
``FLASK_DEBUG``: Secure cookies, HSTS) on a free port, and stops it at the end.

``browser`` launches ``/usr/bin/chromium`` through Playwright's sync API (Playwright's own browser
download is not used). Without Chromium the tests skip with the command that installs it, except
when ``CI`` is set: CI must never skip them silently, so there they fail.

``page`` is a fresh browser context per test (1280×800); ``signed_in_page`` has signed in through
the form. Every page records console errors and CSP violations; a test ends with an error if any
Content-Security-Policy violation happened on its pages.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - playwright is a dev dependency
    sync_playwright = None

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_EMAIL = "admin@example.com"
DEMO_SUBSCRIPTIONS = 300
VIEWPORT = {"width": 1280, "height": 800}
SERVER_START_TIMEOUT = 30.0  # seconds for gunicorn to answer /healthz
COMMAND_TIMEOUT = 120.0  # seconds for each setup command
ACTION_TIMEOUT_MS = 20_000  # the machine is shared: allow slow answers, but never hang


@dataclass
class LiveServer:
    """The running app: its address, its database file and the admin's password."""

    url: str
    database_path: Path
    admin_email: str
    admin_password: str
    env: dict[str, str]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(database_path: Path, instance_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # Production mode, whatever the shell that runs pytest has set.
        if key not in {"FLASK_DEBUG", "FLASK_ENV", "TRUSTED_PROXIES", "DATABASE_URL"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{database_path}",
        SECRET_KEY=secrets.token_hex(32),
        FLASK_APP="wsgi",
        TRUSTED_HOSTS="127.0.0.1",
        # The browser journeys enrol a second factor themselves (test_second_factor_journey).
        REQUIRE_SECOND_FACTOR="0",
        # Keep the app's instance folder off the shared working tree.
        INSTANCE_PATH=str(instance_path),
    )
    return env


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    command = [sys.executable, "-m", "flask", *args]
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`flask {' '.join(args)}` exited {result.returncode}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
            pytrace=False,
        )


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"gunicorn exited with {process.returncode} before answering:\n"
                f"{log_path.read_text(errors='replace')[-3000:]}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
                last_error = response.status
        except (urllib.error.URLError, OSError) as exc:
            last_error = exc
        time.sleep(0.2)
    pytest.fail(
        f"{url}/healthz did not answer 200 within {SERVER_START_TIMEOUT:.0f} s "
        f"(last: {last_error}):\n{log_path.read_text(errors='replace')[-3000:]}",
        pytrace=False,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def start_live_server(directory: Path) -> Iterator[LiveServer]:
    """Prepare a fresh database in ``directory``, serve it, yield the server, then stop it."""
    database_path = directory / "browser.sqlite3"
    env = _server_env(database_path, directory / "instance")
    password = secrets.token_urlsafe(18)
    _flask(env, "db", "upgrade")
    _flask(env, "seed-plans", "--include-annual", "--include-promo")
    _flask(env, "create-admin", "--email", ADMIN_EMAIL, "--password-stdin", stdin=password + "\n")
    _flask(
        env,
        "seed-demo",
        "--subscriptions",
        str(DEMO_SUBSCRIPTIONS),
        "--random-seed",
        "7",
    )

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = directory / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(url, process, log_path)
        yield LiveServer(url, database_path, ADMIN_EMAIL, password, env, log_path)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, or a skip (outside CI) / a failure (in CI) saying how to install it."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} does not exist (apt-get install chromium)")
    if sync_playwright is None:
        missing.append("the playwright package is not installed (pip install -e '.[dev]')")
    if missing:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests, but " + "; ".join(missing), pytrace=False)
        if not CHROMIUM.exists():
            pytest.skip("Chromium is not installed: apt-get install chromium")
        pytest.skip("; ".join(missing))
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server(chromium_path, tmp_path_factory) -> Iterator[LiveServer]:
    yield from start_live_server(tmp_path_factory.mktemp("live-server"))


@pytest.fixture(scope="session")
def browser(chromium_path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageProblems:
    """What went wrong in the browser while a test ran."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]


# Records every CSP violation a page reports (in addition to Chromium's console message).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`Content Security Policy violation: ${event.violatedDirective} ${event.blockedURI}`);
});
"""


def open_page(browser: Browser, server: LiveServer) -> tuple[Page, PageProblems]:
    context = browser.new_context(
        base_url=server.url, viewport=VIEWPORT, accept_downloads=True, locale="en-GB"
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    problems = PageProblems()
    page.on(
        "console",
        lambda message: (
            problems.console_errors.append(f"{page.url}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.page_errors.append(f"{page.url}: {error}"))
    return page, problems


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(server.admin_email)
    page.get_by_label("Password").fill(server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


@pytest.fixture(scope="session")
def screenshot_server(chromium_path, tmp_path_factory) -> Iterator[LiveServer]:
    """A second fresh server for the screenshots, so they show the seeded data rather than the
    journeys' plans. Only with SCREENSHOTS=1: CI does not rewrite docs/screenshots/."""
    if os.environ.get("SCREENSHOTS") != "1":
        pytest.skip("screenshots are made only with SCREENSHOTS=1")
    yield from start_live_server(tmp_path_factory.mktemp("screenshot-server"))


@pytest.fixture
def new_page(browser) -> Iterator[Callable[[LiveServer], tuple[Page, PageProblems]]]:
    """Opens pages in fresh contexts (another browser, as far as the app can tell); closed at
    the end of the test."""
    opened: list[Page] = []

    def make(server: LiveServer) -> tuple[Page, PageProblems]:
        page, problems = open_page(browser, server)
        opened.append(page)
        return page, problems

    yield make
    for page in opened:
        page.context.close()


@pytest.fixture(name="sign_in")
def sign_in_fixture() -> Callable[[Page, LiveServer], None]:
    """Signs a page in through the form: ``sign_in(page, server)``."""
    return sign_in


@pytest.fixture
def page(browser, live_server, request) -> Iterator[Page]:
    page, problems = open_page(browser, live_server)
    request.node.page_problems = problems
    yield page
    page.context.close()
    assert not problems.csp_violations, "CSP violations:\n" + "\n".join(problems.csp_violations)
    assert not problems.page_errors, "JavaScript errors:\n" + "\n".join(problems.page_errors)


@pytest.fixture
def console_errors(page, request) -> list[str]:
    """The console errors of ``page`` so far (the list grows as the test goes on)."""
    return request.node.page_problems.console_errors


@pytest.fixture
def signed_in_page(page, live_server) -> Page:
    sign_in(page, live_server)
    return page


# -- Pages as a given admin sees them: language × screen × colour scheme -----------------------

# The screens the layout and accessibility tests look at: a 1366 px laptop and a 390 px phone.
SCREENS = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
}
BROWSER_LOCALES = {"en": "en-GB", "ru": "ru-RU"}


def signed_in_state(browser: Browser, server: LiveServer, email: str, password: str, locale: str):
    """Sign ``email`` in through the form, switch its saved language to ``locale`` with the
    navigation's switcher, and return the browser's storage state (its session cookie)."""
    context = browser.new_context(base_url=server.url, locale=BROWSER_LOCALES[locale])
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#password").press("Enter")
    expect(page.locator("h1")).not_to_have_text(re.compile("Sign in|Войти"))
    target = {"en": "English", "ru": "Русский"}[locale]
    switch = page.locator(".language-switcher button", has_text=target)
    if switch.get_attribute("aria-pressed") != "true":
        switch.click()
        expect(switch).to_have_attribute("aria-pressed", "true")
    state = context.storage_state()
    context.close()
    return state


@dataclass
class Admins:
    """One admin account of its own per language on the live server (so no other test's
    language switch changes what these pages are in), signed in once."""

    server: LiveServer
    browser: Browser
    password: str
    states: dict[str, dict] = field(default_factory=dict)

    def email(self, locale: str) -> str:
        return f"layout-{locale}@example.com"

    def state(self, locale: str) -> dict:
        if locale not in self.states:
            _flask(
                self.server.env,
                "create-admin",
                "--email",
                self.email(locale),
                "--password-stdin",
                stdin=self.password + "\n",
            )
            self.states[locale] = signed_in_state(
                self.browser, self.server, self.email(locale), self.password, locale
            )
        return self.states[locale]


def open_as(
    browser: Browser,
    server: LiveServer,
    state: dict | None,
    locale: str,
    screen: str = "desktop",
    scheme: str = "light",
) -> tuple[Page, PageProblems]:
    """A fresh context with this sign-in (or none), language, screen and colour scheme."""
    context = browser.new_context(
        base_url=server.url,
        locale=BROWSER_LOCALES[locale],
        color_scheme=scheme,
        storage_state=state,
        **SCREENS[screen],
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    problems = PageProblems()
    page.on(
        "console",
        lambda message: (
            problems.console_errors.append(f"{page.url}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.page_errors.append(f"{page.url}: {error}"))
    return page, problems


@pytest.fixture(scope="session")
def admins(browser, live_server) -> Admins:
    return Admins(live_server, browser, secrets.token_urlsafe(18))


@pytest.fixture
def page_as(browser, live_server, admins) -> Iterator[Callable[..., Page]]:
    """``page_as(locale, screen="desktop", scheme="light", signed_in=True)``: a page in that
    language, on that screen, in that colour scheme; closed at the end of the test, which fails
    on any CSP violation or JavaScript error."""
    opened: list[tuple[Page, PageProblems]] = []

    def make(locale: str, screen: str = "desktop", scheme: str = "light", signed_in=True):
        state = admins.state(locale) if signed_in else None
        page, problems = open_as(browser, live_server, state, locale, screen, scheme)
        opened.append((page, problems))
        return page

    yield make
    problems_seen = []
    for page, problems in opened:
        page.context.close()
        problems_seen += problems.csp_violations + problems.page_errors
    assert not problems_seen, "\n".join(problems_seen)
