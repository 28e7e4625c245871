"""Product registration of the site factory and demo types (placeholder)."""


def initialize(context):
    """Register the ERP5SyncML Site and the demo content classes."""
