"""Large objects: splitting item data and reassembling it."""
import random

import pytest

from Products.ERP5SyncML.syncml import chunking
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m

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


def test_chunks_travel_in_items_and_join_back():
    rng = random.Random(7)
    header = m.Header('1', 1, m.Location('s'), m.Location('c'))
    for _ in range(20):
        text = ''.join(rng.choice('aé€😀<&]>\r\n') for _ in range(300))
        chunks = chunking.split(text, rng.randint(4, 60))
        received = []
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            item = m.Item(source=m.Location('gid'), data=chunk,
                          more_data=more)
            got = codec.decode(codec.encode(m.Message(header, [
                m.Add(cmd_id=1, items=[item])]))).commands[0].items[0]
            assert got.more_data is more
            received.append(got.data)
        assert ''.join(received) == text
        assert chunking.byte_size(text) == len(text.encode('utf-8'))
