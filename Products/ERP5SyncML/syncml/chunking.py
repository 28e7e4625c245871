"""Large objects: split item data into chunks and put them back together.

An item too large for one message travels in several: every chunk but the
last carries ``<MoreData/>``.  The receiver answers 213 for each buffered
chunk and the final status on the last one.  Sizes are bytes of the UTF-8 encoding; a chunk never ends in the
middle of a character, so every chunk is valid text on its own.
"""

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
