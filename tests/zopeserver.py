"""One real Zope server per test session, sharing a ZEO database with pytest.

    ZEO server (runzeo, FileStorage in a tmp dir)
      ^-- runwsgi subprocess: the Zope server tests talk to over HTTP
      ^-- this process: Zope configured in-process, for fixtures and checks

See conftest.py for the `zope` and `app` fixtures.  Zope is imported only
when the server starts, so unit tests never pay for it.
"""
import base64
import contextlib
import http.client
import itertools
import secrets
import urllib.parse

from scripts import instance

MANAGER = 'manager'


class ZopeServer:
    """Start/stop the ZEO + Zope pair and give tests access to both sides."""

    def __init__(self, base_dir):
        self.base_dir = base_dir
        self.user = MANAGER
        self.password = secrets.token_urlsafe(12)
        self.zeo = self.server = self.instance = None
        self._ids = itertools.count(1)

    # -- life cycle ---------------------------------------------------------

    def start(self):
        """Start ZEO, configure Zope in-process, add the Manager, start runwsgi."""
        try:
            self.zeo = instance.start_zeo(self.base_dir / 'zeo' / 'Data.fs')
            self.instance = instance.write_instance(
                self.base_dir / 'instance', instance.free_port(),
                zeo=self.zeo.address)
            # In-process first: it creates the root objects, so the server
            # does not race us for them.
            instance.configure_zope(self.instance.zope_conf)
            self.add_user(self.user, self.password, ['Manager'])
            self.server = instance.start_zope(self.instance)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop runwsgi (SIGINT) and ZEO; close the in-process database."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.instance is not None:
            with contextlib.suppress(Exception):
                instance.close_zope()
        if self.zeo is not None:
            self.zeo.stop()
            self.zeo = None

    @property
    def url(self):
        return self.server.url

    # -- in-process access --------------------------------------------------

    @contextlib.contextmanager
    def app(self):
        """Yield a request-wrapped root app on a fresh connection, logged in
        as the Manager.  Commits on normal exit, aborts on exception.
        Do not nest: both connections would share the thread's transaction.
        """
        import transaction
        import Zope2
        from AccessControl.SecurityManagement import newSecurityManager
        from AccessControl.SecurityManagement import noSecurityManager
        from Testing.makerequest import makerequest
        from zope.component.hooks import setSite
        from zope.globalrequest import clearRequest
        from zope.globalrequest import setRequest

        # absolute_url() in-process then matches the real server's URLs.
        environ = {'SERVER_NAME': self.instance.host,
                   'SERVER_PORT': str(self.instance.port)}
        app = None
        conn = Zope2.DB.open()
        try:
            transaction.begin()  # syncs with the ZEO server (server-sync)
            app = makerequest(conn.root()['Application'], environ=environ)
            setRequest(app.REQUEST)
            setSite(None)
            user = app.acl_users.getUser(self.user)
            newSecurityManager(None, user.__of__(app.acl_users))
            try:
                yield app
            except BaseException:
                transaction.abort()
                raise
            else:
                transaction.commit()
        finally:
            noSecurityManager()
            setSite(None)
            clearRequest()
            if app is not None:
                app.REQUEST.close()
            conn.close()

    def add_user(self, name, password, roles):
        """Add a user to the root acl_users (committed)."""
        with self.app_unauthenticated() as app:
            instance.add_manager(app, name, password, roles)

    @contextlib.contextmanager
    def app_unauthenticated(self):
        # Used before the Manager exists; same transaction rules as app().
        import transaction
        import Zope2
        conn = Zope2.DB.open()
        try:
            transaction.begin()
            try:
                yield conn.root()['Application']
            except BaseException:
                transaction.abort()
                raise
            else:
                transaction.commit()
        finally:
            conn.close()

    def new_site_id(self, prefix='site'):
        """A site id not used before in this session, e.g. 'cps_3'."""
        return f'{prefix}_{next(self._ids)}'

    def add_site(self, site_id, demo=True, title=None):
        """Create a CMF site with the product's site factory (committed)."""
        from Products.ERP5SyncML.site.factory import add_site
        with self.app() as app:
            add_site(app, site_id, title or site_id, demo=demo)
        return site_id

    # -- HTTP ---------------------------------------------------------------

    def http(self, method, path, data=None, headers=None, auth=True):
        """One HTTP request to the server; redirects are NOT followed.

        path: relative to self.url ('/cps/manage_main' or 'cps/...').
        data: dict -> form-encoded (query string for GET/HEAD), bytes -> raw
        body.  auth: True (the Manager), None/False (anonymous) or (user, pw).
        Returns (status, headers as a dict with lower-case keys, body bytes).
        """
        method = method.upper()
        headers = dict(headers or {})
        if auth is True:
            auth = (self.user, self.password)
        if auth:
            token = base64.b64encode(f'{auth[0]}:{auth[1]}'.encode()).decode()
            headers['Authorization'] = 'Basic ' + token
        path = '/' + path.lstrip('/')
        body = None
        if isinstance(data, dict):
            encoded = urllib.parse.urlencode(data, doseq=True)
            if method in ('GET', 'HEAD'):
                path += ('&' if '?' in path else '?') + encoded
            else:
                body = encoded.encode()
                headers.setdefault('Content-Type',
                                   'application/x-www-form-urlencoded')
        elif data is not None:
            body = data
        conn = http.client.HTTPConnection(self.server.host, self.server.port,
                                          timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return (resp.status,
                    {k.lower(): v for k, v in resp.getheaders()},
                    resp.read())
        finally:
            conn.close()
