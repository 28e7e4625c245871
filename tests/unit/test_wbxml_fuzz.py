"""WBXML codec under generated input (bounded hypothesis budgets)."""
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import wbxml
from Products.ERP5SyncML.syncml.errors import ProtocolError

WB = wbxml.WBXML_TYPE
SAMPLES = [path.read_bytes() for path in sorted(
    (Path(__file__).parent / 'data').glob('syncevolution-*.wbxml'))]
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# text XML 1.0 can carry (CR is kept through both encodings)
xml_text = st.text(st.characters(
    blacklist_categories=('Cs',),
    blacklist_characters='\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c'
                         '\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18'
                         '\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff'),
    max_size=300)
token = st.text('abcdefghijklmnopqrstuvwxyz0123456789./:-_', min_size=1,
                max_size=40)


def decodes_or_refuses(data):
    try:
        message = wbxml.decode(data, WB)
    except ProtocolError as exc:
        assert 400 <= exc.status < 600
        return None
    assert isinstance(message, m.Message)
    return message


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(data):
    decodes_or_refuses(data)


@FUZZ
@given(st.binary(max_size=200))
def test_random_body_after_a_valid_header(body):
    decodes_or_refuses(bytes([0x02, 0xA4, 0x01, 0x6A, 0x00, 0x6D]) + body)


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_real_messages(sample, data):
    mutated = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 8))):
        action = data.draw(st.sampled_from(['flip', 'insert', 'delete']))
        position = data.draw(st.integers(0, len(mutated) - 1))
        if action == 'flip':
            mutated[position] = data.draw(st.integers(0, 255))
        elif action == 'insert':
            mutated.insert(position, data.draw(st.integers(0, 255)))
        elif len(mutated) > 1:
            del mutated[position]
    decodes_or_refuses(bytes(mutated))


@FUZZ
@given(version=st.sampled_from(['1.1', '1.2']), session=token, uri=token,
       name=st.one_of(st.none(), xml_text.filter(lambda s: s.strip() == s
                                                 and s)),
       cards=st.lists(xml_text, max_size=4), final=st.booleans())
def test_generated_messages_round_trip(version, session, uri, name, cards,
                                       final):
    header = m.Header(session_id=session, msg_id=1,
                      target=m.Location('http://127.0.0.1/' + uri),
                      source=m.Location(uri, name), ver_dtd=version,
                      ver_proto='SyncML/' + version,
                      meta=m.Meta(max_msg_size=150000))
    sync = m.Sync(target=m.Location(uri), source=m.Location('./' + uri),
                  number_of_changes=len(cards),
                  commands=[m.Add(meta=m.Meta(type='text/vcard'),
                                  items=[m.Item(source=m.Location(str(i)),
                                                data=card)])
                            for i, card in enumerate(cards)])
    message = m.Message(header, [sync], final)
    xml = codec.encode(message)
    data = wbxml.encode(message, WB)
    assert len(data) <= len(xml)
    decoded = wbxml.decode(data, WB)
    assert codec.encode(decoded) == xml
    assert [c.items[0].data for c in decoded.commands[0].commands] == cards
