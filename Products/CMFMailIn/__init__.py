"""Products.CMFMailIn: portal_mailin, mail reception for Zope sites.

Not implemented yet: the product is installed (so sites and profiles can
name it) but registers nothing. Mail synchronization comes with it.
"""


def initialize(context):
    """Zope product initialisation (nothing to register yet)."""
