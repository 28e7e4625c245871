"""SyncML protocol core: messages, codec, codes, session state machine.

This package is sans-I/O and imports nothing from Zope.
"""
