"""Errors raised by the SyncML protocol core."""
from .codes import StatusCode


class ProtocolError(ValueError):
    """A message or an event breaks the SyncML protocol.

    ``status`` is the SyncML status code that best answers the fault
    (400 malformed, 413 too large, 505/513 unsupported version, ...), so a
    caller can turn the error into a Status for the peer.
    """

    def __init__(self, message, status=StatusCode.BAD_REQUEST):
        super().__init__(message)
        self.status = int(status)

    def __reduce__(self):
        return (type(self), (str(self), self.status))
