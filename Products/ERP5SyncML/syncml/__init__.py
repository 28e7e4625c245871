"""SyncML protocol core: messages, codec, codes, session state machine.

This package is sans-I/O and imports nothing from Zope (stdlib and lxml
only): bytes and events in, bytes and events out.

  codes     alert/status codes, sync mode semantics
  model     the message model (plain data classes)
  codec     Message <-> XML bytes, encoded sizes
  session   the DS session state machine (one table), mode negotiation
  auth      syncml:auth-basic and syncml:auth-md5
  chunking  large objects (MoreData): split into chunks
  xmlsafe   the hardened XML parser for everything from outside
  errors    ProtocolError (carries the SyncML status to answer with)
"""
