"""Browser tests: Playwright driving the system Chromium (Debian package
``chromium``, headless) against the session's Zope server.

Screenshots of every step go to var/screenshots/<test name>/ (ignored by
git), or to $SCREENSHOT_DIR when it is set.
"""
import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='session')
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip('browser tests need the Python package playwright (make venv)')
    if not os.path.exists(CHROMIUM):
        pytest.skip('browser tests need Chromium at %s (Debian package chromium: '
                    'make system-deps)' % CHROMIUM)
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=CHROMIUM, headless=True)
    except Exception as exc:  # noqa: BLE001 -- any launch failure: say why
        manager.stop()
        pytest.skip('Chromium at %s does not start: %s' % (CHROMIUM, exc))
    try:
        yield browser
    finally:
        browser.close()
        manager.stop()


class Shots:
    """Numbered screenshots of the steps of one test."""

    def __init__(self, page, directory):
        self.page = page
        self.directory = directory
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob('*.png'):
            old.unlink()

    def __call__(self, name):
        self.count += 1
        path = self.directory / ('%02d-%s.png' % (self.count, name))
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def page(chromium, zope, request):
    """A page logged in to the Zope server as its Manager."""
    context = chromium.new_context(
        http_credentials={'username': zope.user, 'password': zope.password},
        viewport={'width': 1400, 'height': 900})
    page = context.new_page()
    page.set_default_timeout(30000)
    base = Path(os.environ.get('SCREENSHOT_DIR') or ROOT / 'var' / 'screenshots')
    page.shots = Shots(page, base / re.sub(r'[^\w.-]', '_', request.node.name))
    try:
        yield page
    finally:
        context.close()
