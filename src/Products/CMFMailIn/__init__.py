"""Products.CMFMailIn (placeholder, being written)."""


def initialize(context):
    """Zope product initialisation."""
