"""Conduits: apply incoming XML and XUpdate to objects."""
