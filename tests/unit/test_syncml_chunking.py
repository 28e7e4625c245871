"""Large objects: splitting item data and reassembling it."""
import random

import pytest

from Products.ERP5SyncML.syncml import chunking
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml.errors import ProtocolError

TEXT = ('<object id="1"><title>Ünïcødé €uro 😀 中文</title>'
        + '<p>' + 'x' * 500 + '</p></object>')


@pytest.mark.parametrize('size', [4, 5, 7, 16, 100, 10000])
def test_split_text_respects_size_and_characters(size):
    chunks = chunking.split(TEXT, size)
    assert ''.join(chunks) == TEXT
    assert all(isinstance(c, str) and c for c in chunks)
    assert all(len(c.encode('utf-8')) <= size for c in chunks)
    # chunks are as full as a character boundary allows
    for chunk, following in zip(chunks, chunks[1:]):
        assert len(chunk.encode()) + len(following[0].encode()) > size


def test_split_bytes_never_cuts_a_character():
    data = TEXT.encode('utf-8')
    chunks = chunking.split(data, 6)
    assert b''.join(chunks) == data
    for chunk in chunks:
        assert isinstance(chunk, bytes) and len(chunk) <= 6
        chunk.decode('utf-8')  # each chunk is whole characters


def test_split_edge_cases():
    assert chunking.split('', 10) == ['']
    assert chunking.split(b'abc', 10) == [b'abc']
    with pytest.raises(ValueError, match='at least 4'):
        chunking.split('abc', 3)
    with pytest.raises(ValueError, match='UTF-8'):
        chunking.split(b'\xff\xfe', 10)
    with pytest.raises(TypeError):
        chunking.split(42, 10)


def test_chunks_travel_in_items_and_reassemble():
    rng = random.Random(7)
    for _ in range(20):
        text = ''.join(rng.choice('aé€😀<&]>\r\n') for _ in range(300))
        chunks = chunking.split(text, rng.randint(4, 60))
        buffer = chunking.ChunkBuffer('gid', size=chunking.byte_size(text))
        result = None
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            item = m.Item(source=m.Location('gid'), data=chunk,
                          more_data=more)
            header = m.Header('1', 1, m.Location('s'), m.Location('c'))
            got = codec.decode(codec.encode(m.Message(header, [
                m.Add(cmd_id=1, items=[item])]))).commands[0].items[0]
            result = buffer.add(got.source.uri, got.data, got.more_data)
            assert (result is None) == more
        assert result == text and buffer.complete


def test_buffer_bytes_mode():
    buffer = chunking.ChunkBuffer('k', text=False)
    assert buffer.add('k', b'ab', True) is None
    assert buffer.add('k', 'c\u00e9', False) == b'abc\xc3\xa9'


def _status(call, *args):
    with pytest.raises(ProtocolError) as info:
        call(*args)
    return info.value.status


def test_buffer_errors_change_nothing():
    buffer = chunking.ChunkBuffer('k', size=6, max_size=10)
    buffer.add('k', 'abc', True)
    assert _status(buffer.add, 'other', 'def', False) == 412
    assert _status(buffer.add, 'k', 'de', False) == 424      # 5 != 6
    assert _status(buffer.add, 'k', 'defg', True) == 424     # 7 > 6
    assert (buffer.received, buffer.chunks) == (3, [b'abc'])
    assert buffer.add('k', 'def', False) == 'abcdef'
    assert _status(buffer.add, 'k', 'x', False) == 400       # complete


def test_buffer_enforces_max_object_size():
    assert _status(chunking.ChunkBuffer, 'k', 100, 10) == 416
    buffer = chunking.ChunkBuffer('k', max_size=4)
    buffer.add('k', 'abcd', True)
    assert _status(buffer.add, 'k', 'e', False) == 416
    assert buffer.received == 4


def test_buffer_refuses_invalid_utf8_text():
    buffer = chunking.ChunkBuffer('k')
    buffer.add('k', b'\xc3', True)
    assert _status(buffer.add, 'k', b'(', False) == 400
    assert buffer.received == 1 and not buffer.complete
