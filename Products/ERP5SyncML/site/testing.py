"""In-process test environment for CMF sites, without starting Zope.

``Testing.ZopeTestCase`` starts Zope once per process (``Zope2`` refuses a
second start), which would stop a real Zope from being configured later in
the same test run. This environment instead loads the product's ZCML,
registers the products' classes (``initialize``) and opens a DemoStorage
ZODB with a bare Zope application, and undoes the global parts on
``tearDown``::

    env = TestEnvironment()
    env.setUp()
    with env.app() as app:          # aborted at the end unless commit=True
        site = add_site(app, 'cps', demo=True)
        ...
    env.tearDown()
"""
import contextlib

import Products
import Products.CMFCore
import Products.ERP5SyncML
import Products.Five
import Products.GenericSetup
import transaction
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from AccessControl.users import system
from App.FactoryDispatcher import Product
from App.ProductContext import ProductContext
from OFS.Application import Application
from Testing.makerequest import makerequest
from ZODB import DB
from ZODB.DemoStorage import DemoStorage
from zope.component.hooks import setHooks
from zope.component.hooks import setSite
from zope.configuration import xmlconfig
from zope.dottedname.resolve import resolve
from zope.testing.cleanup import cleanUp

#: Products whose ``initialize`` registers classes a site needs
#: (index types, catalog, tools, content types).
PRODUCTS = (
    'Products.OFSP',
    'Products.PageTemplates',
    'Products.PythonScripts',
    'Products.PluginIndexes',
    'Products.ZCatalog',
    'Products.GenericSetup',
    'Products.CMFCore',
    'Products.MailHost',
    'Products.BTreeFolder2',
    'Products.CMFActivity',
    'Products.ERP5SyncML',
)


class TestEnvironment:
    """ZCML + product registrations + a DemoStorage Zope application."""

    db = None

    def setUp(self):
        self._meta_types = Products.meta_types
        # all directives first, as Zope's five:loadProducts does
        context = xmlconfig.file('meta.zcml', Products.Five)
        for package in (Products.GenericSetup, Products.CMFCore):
            xmlconfig.file('meta.zcml', package, context=context)
        xmlconfig.file('configure.zcml', Products.Five, context=context)
        xmlconfig.file('configure.zcml', Products.ERP5SyncML,
                       context=context)
        setHooks()
        self.db = DB(DemoStorage())
        conn = self.db.open()
        try:
            app = Application()
            conn.root()['Application'] = app
            for name in PRODUCTS:
                # what OFS.Application.install_package does, minus the
                # bookkeeping of Zope's own start-up
                module = resolve(name)
                # Zope names products of the Products namespace without it
                # (manage_addProduct/ERP5SyncML/...)
                product = Product(name.split('.', 1)[1])
                product.package_name = name
                module.initialize(ProductContext(product, app, module))
            transaction.commit()
        finally:
            transaction.abort()
            conn.close()

    def tearDown(self):
        transaction.abort()
        setSite(None)
        noSecurityManager()
        if self.db is not None:
            self.db.close()
            self.db = None
        Products.meta_types = self._meta_types
        cleanUp()

    @contextlib.contextmanager
    def app(self, commit=False):
        """Yield a request-wrapped application, logged in as the
        unrestricted system user; abort (or commit) at the end."""
        conn = self.db.open()
        transaction.begin()
        app = makerequest(conn.root()['Application'])
        newSecurityManager(None, system)
        try:
            yield app
            if commit:
                transaction.commit()
        finally:
            transaction.abort()
            noSecurityManager()
            setSite(None)
            app.REQUEST.close()
            conn.close()
