"""Session-wide Zope server fixtures (see tests/zopeserver.py).

  zope   session scope, started lazily on first use: ZEO + runwsgi + in-process
         Zope on the same database.  zope.url, zope.user, zope.password,
         zope.app(), zope.http(), zope.new_site_id(), zope.add_site(),
         zope.add_user().
  app    function scope: `with zope.app() as app: yield app` (commits at the end).

Unit tests (tests/unit/) may not use them, and run before functional tests.
"""
import atexit
import os
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).parent / 'unit'
FUNCTIONAL_DIR = Path(__file__).parent / 'functional'
BROWSER_DIR = Path(__file__).parent / 'browser'


def _needs_server(item):
    return _under(item, FUNCTIONAL_DIR) or _under(item, BROWSER_DIR)


def _under(item, directory):
    return directory in Path(str(item.fspath)).parents


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _needs_server(item):
            item.add_marker(pytest.mark.functional)
        elif _under(item, UNIT_DIR) and {'zope', 'app'} & set(item.fixturenames):
            raise pytest.UsageError(
                f'{item.nodeid}: unit tests must not use the Zope server '
                '(move the test to tests/functional/)')
    # Fast unit tests first; stable sort keeps module order otherwise.
    items.sort(key=_needs_server)


@pytest.fixture(scope='session')
def zope(tmp_path_factory):
    from zopeserver import ZopeServer
    # file: URLs (off by default) only inside this session's temporary
    # directories, for this process and the server it starts
    os.environ['ERP5SYNCML_FILE_URL_DIR'] = str(tmp_path_factory.getbasetemp())
    server = ZopeServer(tmp_path_factory.mktemp('zope'))
    # atexit as a second line of defence if the session is torn down abnormally.
    atexit.register(server.stop)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)


@pytest.fixture
def app(zope):
    with zope.app() as app:
        yield app
