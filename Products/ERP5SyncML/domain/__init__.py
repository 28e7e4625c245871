"""Sync domain: publications, subscriptions, signatures and the engine."""
