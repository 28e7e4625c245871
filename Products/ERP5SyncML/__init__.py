"""ERP5SyncML: SyncML synchronization of Zope/CMF sites.

Layers (each imports only the ones below it):
  tool.py, www/            ZMI and HTTP face (portal_synchronizations)
  domain/                  publications, subscriptions, signatures, engine
  mapping/, conduit/       object <-> XML, XUpdate
  syncml/                  SyncML protocol core (no Zope imports)
  transports/              http, mailto, file
"""
import logging

from Products.CMFCore.DirectoryView import registerDirectory

logger = logging.getLogger('Products.ERP5SyncML')

# skins/erp5syncml (mail_received, ...) becomes a layer of portal_skins
# through the GenericSetup profiles.
registerDirectory('skins', globals())


def initialize(context):
    """Zope product initialisation: register addable classes."""
    from . import registration
    from .site import registration as site_registration
    site_registration.initialize(context)
    registration.initialize(context)
