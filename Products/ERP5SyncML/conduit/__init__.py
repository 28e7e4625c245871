"""Conduits: apply incoming XML and XUpdate to objects.

Public API::

    getConduit(name='ERP5Conduit') -> IConduit
    Conduit                      the default conduit (conduit.py)
    make_xupdate, apply_xupdate  XUpdate documents (xupdate.py)
"""
from zope.component import queryUtility

from ..interfaces import IConduit


def getConduit(name='ERP5Conduit'):
    """The conduit utility called ``name`` (the default one if empty)."""
    conduit = queryUtility(IConduit, name or '')
    if conduit is not None:
        return conduit
    from .conduit import Conduit
    if name in ('', None, 'ERP5Conduit'):
        return Conduit()
    raise LookupError('no conduit named %r' % name)
