"""Large objects: split item data into chunks and put them back together.

An item too large for one message travels in several: every chunk but the
last carries ``<MoreData/>``, the first one carries ``Meta/Size`` (the total
size in bytes of the UTF-8 data).  The receiver answers 213 for each
buffered chunk and the final status on the last one; 424 when the sizes do
not match.  Sizes are bytes of the UTF-8 encoding; a chunk never ends in the
middle of a character, so every chunk is valid text on its own.
"""
from .codes import StatusCode
from .errors import ProtocolError

#: A UTF-8 character takes at most this many bytes.
MAX_CHAR_BYTES = 4


def _utf8(data):
    if isinstance(data, str):
        return data.encode('utf-8')
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    raise TypeError('chunk data must be str or bytes, not %s'
                    % type(data).__name__)


def _boundary(data, end):
    """The largest index <= end that does not cut a UTF-8 character."""
    # continuation bytes are 0b10xxxxxx; step back to the lead byte
    while end > 0 and end < len(data) and (data[end] & 0xC0) == 0x80:
        end -= 1
    return end


def split(data, max_bytes):
    """Split ``data`` (str, or UTF-8 bytes) into chunks of <= max_bytes.

    Returns a list of the same type as ``data`` (at least one chunk, empty
    data gives ``['']``).  Bytes must be UTF-8: they are split only between
    characters.
    """
    if max_bytes < MAX_CHAR_BYTES:
        raise ValueError('chunks must allow at least %d bytes, not %r'
                         % (MAX_CHAR_BYTES, max_bytes))
    as_text = isinstance(data, str)
    raw = _utf8(data)
    if not as_text:
        try:
            raw.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ValueError('chunk data is not UTF-8: %s' % exc) from None
    chunks = []
    start = 0
    while True:
        end = _boundary(raw, min(start + max_bytes, len(raw)))
        chunk = raw[start:end]
        chunks.append(chunk.decode('utf-8') if as_text else chunk)
        start = end
        if start >= len(raw):
            return chunks


def byte_size(data):
    """Size in bytes of ``data`` as sent (UTF-8)."""
    return len(_utf8(data))


class ChunkBuffer:
    """Collect the chunks of one item until the last one arrives.

    ``key`` names the item (its Source or Target LocURI), ``size`` is the
    announced total (Meta/Size of the first chunk), ``max_size`` the largest
    object we accept (our MaxObjSize).  The buffer holds plain data only, so
    it can be stored between two messages of a session.
    """

    def __init__(self, key, size=None, max_size=None, text=True):
        if size is not None and max_size is not None and size > max_size:
            raise ProtocolError('an object of %d bytes is larger than the '
                                '%d accepted' % (size, max_size),
                                StatusCode.REQUESTED_SIZE_TOO_BIG)
        self.key = key
        self.size = size
        self.max_size = max_size
        self.text = text
        self.chunks = []
        self.received = 0
        self.complete = False

    def add(self, key, chunk, more_data):
        """Append one chunk of item ``key``.

        Returns None while more chunks are expected (answer 213), and the
        whole data (str when ``text``, else bytes) on the last chunk.
        Raises ProtocolError: 412 for a chunk of another item (the
        continuation is missing, alert 223), 416 when the object grows past
        ``max_size``, 424 when the total differs from the announced size.
        Nothing is changed when it raises.
        """
        if self.complete:
            raise ProtocolError('object %r is already complete' % (self.key,),
                                StatusCode.BAD_REQUEST)
        if key != self.key:
            raise ProtocolError('expected the next chunk of %r, got an item '
                                '%r' % (self.key, key),
                                StatusCode.INCOMPLETE_COMMAND)
        raw = _utf8(chunk)
        received = self.received + len(raw)
        if self.max_size is not None and received > self.max_size:
            raise ProtocolError('object %r grows past the %d bytes accepted'
                                % (self.key, self.max_size),
                                StatusCode.REQUESTED_SIZE_TOO_BIG)
        if self.size is not None and (
                received > self.size or (not more_data
                                         and received != self.size)):
            raise ProtocolError('object %r has %d bytes, %d were announced'
                                % (self.key, received, self.size),
                                StatusCode.SIZE_MISMATCH)
        if more_data:
            self.chunks.append(raw)
            self.received = received
            return None
        data = b''.join(self.chunks + [raw])
        if self.text:
            try:
                data = data.decode('utf-8')
            except UnicodeDecodeError:
                raise ProtocolError('object %r is not valid UTF-8 text'
                                    % (self.key,)) from None
        self.chunks.append(raw)
        self.received = received
        self.complete = True
        return data
