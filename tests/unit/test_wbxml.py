"""WBXML codec: real SyncEvolution messages, libwbxml agreement, round
trips, content types and hostile input."""
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

import syncevolution as se
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import wbxml
from Products.ERP5SyncML.syncml.errors import ProtocolError

DATA = Path(__file__).parent / 'data'
SAMPLES = sorted(DATA.glob('syncevolution-*.wbxml'))
WB = wbxml.WBXML_TYPE

# a minimal SyncML 1.2 message, token by token
HEAD12 = bytes([0x02, 0xA4, 0x01, 0x6A, 0x00])
HDR = (bytes([0x6D, 0x6C, 0x71, 0x03]) + b'1.2\x00' + b'\x01'
       + bytes([0x72, 0x03]) + b'SyncML/1.2\x00\x01'
       + bytes([0x65, 0x03]) + b'1\x00\x01'
       + bytes([0x5B, 0x03]) + b'1\x00\x01'
       + bytes([0x6E, 0x57, 0x03]) + b'srv\x00\x01\x01'
       + bytes([0x67, 0x57, 0x03]) + b'dev\x00\x01\x01'
       + b'\x01')
MINIMAL = HEAD12 + HDR + bytes([0x6B, 0x12, 0x01, 0x01])


@pytest.fixture(scope='module')
def libwbxml():
    se.ensure_installed(('libwbxml2-utils',))
    assert shutil.which('wbxml2xml') and shutil.which('xml2wbxml')


def wbxml2xml(data, tmp_path):
    source, target = tmp_path / 'in.wbxml', tmp_path / 'out.xml'
    source.write_bytes(data)
    subprocess.run(['wbxml2xml', '-m', '0', '-o', str(target), str(source)],
                   check=True, capture_output=True, timeout=30)
    text = target.read_bytes()
    return text[text.index(b'<SyncML'):]   # without the DOCTYPE


def xml2wbxml(xml, tmp_path):
    source, target = tmp_path / 'in.xml', tmp_path / 'out.wbxml'
    source.write_bytes(xml)
    subprocess.run(['xml2wbxml', '-o', str(target), str(source)],
                   check=True, capture_output=True, timeout=30)
    return target.read_bytes()


def shape(element):
    children = [child for child in element if isinstance(child.tag, str)]
    text = None if children else \
        (element.text or '').replace('\r', '').strip()
    return (etree.QName(element).localname, text,
            [shape(child) for child in children])


def rich_message(version='1.2'):
    devinf = etree.fromstring(
        "<DevInf xmlns='syncml:devinf'><VerDTD>%s</VerDTD><Man>Ex</Man>"
        "<DevID>srv</DevID><DevTyp>server</DevTyp><UTC/>"
        "<SupportLargeObjs/><DataStore><SourceRef>./people</SourceRef>"
        "<MaxGUIDSize>32</MaxGUIDSize><Rx-Pref><CTType>text/vcard</CTType>"
        "<VerCT>3.0</VerCT></Rx-Pref><SyncCap><SyncType>1</SyncType>"
        "<SyncType>7</SyncType></SyncCap></DataStore></DevInf>" % version)
    hdr = m.Header(session_id='42', msg_id=3,
                   target=m.Location('http://example.org/pub', 'Pub'),
                   source=m.Location('client-7', 'alice'),
                   cred=m.Cred.md5('alice', 'secret', b'n0nce'),
                   meta=m.Meta(max_msg_size=150000, max_obj_size=4000000),
                   resp_uri='http://example.org/pub?s=42',
                   ver_dtd=version, ver_proto='SyncML/' + version)
    card = ('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë Œuvre <&]]>\r\n'
            'NOTE:\u4e2d\u6587 \U0001F600\r\nEND:VCARD\r\n')
    commands = [
        m.Status(cmd_id=1, msg_ref=2, cmd_ref=0, cmd='SyncHdr', code=212,
                 target_refs=['http://example.org/pub'],
                 source_refs=['client-7'],
                 chal=m.Chal('syncml:auth-md5', 'b64', 'bm9uY2U=')),
        m.Status(cmd_id=2, msg_ref=2, cmd_ref=5, cmd='Alert', code=200,
                 items=[m.anchor_item('20260101T000000Z')]),
        m.Put(cmd_id=3, meta=m.Meta(type=m.DEVINF_TYPE),
              items=[m.Item(source=m.Location(m.devinf_uri(version)),
                            data=devinf)]),
        m.Get(cmd_id=4, meta=m.Meta(type=m.DEVINF_TYPE),
              items=[m.Item(target=m.Location(m.devinf_uri(version)))]),
        m.Alert(cmd_id=6, code=200, items=[m.Item(
            target=m.Location('people'), source=m.Location('./people'),
            meta=m.Meta(anchor_last='1', anchor_next='2',
                        max_obj_size=4000000))]),
        m.Sync(cmd_id=7, target=m.Location('people'),
               source=m.Location('./people'), number_of_changes=3,
               commands=[
                   m.Add(cmd_id=8, meta=m.Meta(type='text/vcard'),
                         items=[m.Item(source=m.Location('c1.vcf'),
                                       data=card)]),
                   m.Replace(cmd_id=9, meta=m.Meta(type='text/vcard',
                                                   size=len(card)),
                             items=[m.Item(target=m.Location('17'),
                                           data=card[:20],
                                           more_data=True)]),
                   m.Delete(cmd_id=10, items=[m.Item(
                       target=m.Location('18'))])]),
        m.Map(cmd_id=11, target=m.Location('people'),
              source=m.Location('./people'),
              map_items=[m.MapItem('17', 'c1.vcf')]),
    ]
    return m.Message(hdr, commands, final=True)


# ------------------------------------------------ real SyncEvolution data

def test_samples_are_there():
    names = {path.name for path in SAMPLES}
    assert 'syncevolution-1.2-1-client.wbxml' in names
    assert 'syncevolution-1.1-1-client.wbxml' in names
    assert len(SAMPLES) >= 10


@pytest.mark.parametrize('path', SAMPLES, ids=lambda p: p.name)
def test_real_message_agrees_with_libwbxml(path, libwbxml, tmp_path):
    data = path.read_bytes()
    ours = wbxml.to_tree(data)
    theirs = etree.fromstring(wbxml2xml(data, tmp_path))
    assert shape(ours) == shape(theirs)
    version = '1.1' if '-1.1-' in path.name else '1.2'
    assert etree.QName(ours).namespace == codec.NAMESPACES[version]
    message = wbxml.decode(data, WB)
    assert message.header.ver_dtd == version
    # re-encoded by us, libwbxml reads the same message
    again = wbxml.encode(message, WB)
    assert len(again) <= len(codec.encode(message))
    assert codec.decode(wbxml2xml(again, tmp_path)).commands is not None
    assert codec.encode(wbxml.decode(again, WB)) == codec.encode(message)


def test_real_client_devinf_is_a_tree():
    data = (DATA / 'syncevolution-1.2-1-client.wbxml').read_bytes()
    message = wbxml.decode(data, WB)
    put = next(c for c in message.commands if isinstance(c, m.Put))
    assert put.meta.type == m.DEVINF_TYPE   # +wbxml on the wire
    assert b'devinf+wbxml' in data
    devinf = put.items[0].data
    assert devinf.tag == '{syncml:devinf}DevInf'
    assert devinf.findtext('{syncml:devinf}Mod') == 'SyncEvolution'
    types = {e.text for e in devinf.iter('{syncml:devinf}CTType')}
    assert {'text/vcard', 'text/x-vcard'} <= types
    alert = next(c for c in message.commands if isinstance(c, m.Alert))
    assert alert.code == 201
    assert alert.items[0].meta.anchor_next


# ------------------------------------------------------------ round trips

@pytest.mark.parametrize('version', ['1.1', '1.2'])
def test_round_trip_equals_xml_codec(version):
    message = rich_message(version)
    data = wbxml.encode(message, WB)
    assert data[:4] == bytes([0x02]) + {
        '1.1': bytes([0x9F, 0x53]), '1.2': bytes([0xA4, 0x01])}[version] \
        + bytes([0x6A])
    assert len(data) < len(codec.encode(message))
    decoded = wbxml.decode(data, WB)
    assert codec.encode(decoded) == codec.encode(message)
    card = decoded.commands[5].commands[0].items[0].data
    assert card == message.commands[5].commands[0].items[0].data


@pytest.mark.parametrize('version', ['1.1', '1.2'])
def test_libwbxml_reads_ours_and_we_read_theirs(version, libwbxml,
                                                tmp_path):
    message = rich_message(version)
    # wbxml2xml writes text into CDATA as it is, "]]>" would break it
    for command in message.commands[5].commands[:2]:
        command.items[0].data = command.items[0].data.replace(']]>', ']>')
    xml = codec.encode(message)
    # ours -> libwbxml -> XML codec
    theirs_xml = wbxml2xml(wbxml.encode(message, WB), tmp_path)
    assert shape(etree.fromstring(theirs_xml)) == \
        shape(etree.fromstring(xml))
    # libwbxml's encoding -> ours
    theirs = xml2wbxml(xml, tmp_path)
    assert shape(wbxml.to_tree(theirs)) == shape(etree.fromstring(xml))
    decoded = wbxml.decode(theirs, WB)
    assert decoded.commands[2].items[0].data.findtext(
        '{syncml:devinf}Man') == 'Ex'
    assert decoded.commands[5].commands[0].items[0].data.replace(
        '\r', '') == message.commands[5].commands[0].items[0].data.replace(
        '\r', '')


def test_string_table_public_id_and_literals():
    fpi = b'-//SYNCML//DTD SyncML 1.2//EN\x00'
    table = fpi + b'SessionID\x00'
    data = bytes([0x03, 0x00, 0x00, 0x6A, len(table)]) + table
    body = bytearray(HDR)
    # SessionID as a literal tag, its text from the string table
    start = body.index(bytes([0x65]))
    end = body.index(b'\x01', start) + 1
    body[start:end] = bytes([0x44, len(fpi), 0x83, len(fpi), 0x01])
    message = wbxml.decode(data + bytes(body) + bytes([0x6B, 0x12, 0x01,
                                                       0x01]), WB)
    assert message.header.session_id == 'SessionID'
    assert message.final


def test_entities_and_latin1():
    data = bytearray(MINIMAL)
    data[3] = 0x04   # ISO-8859-1
    session = data.index(bytes([0x65, 0x03]))
    data[session:session + 5] = bytes([0x65, 0x02, 0x81, 0x53, 0x03,
                                       0xE9, 0x00, 0x01])
    message = wbxml.decode(bytes(data), WB)
    assert message.header.session_id == '\u00d3\u00e9'


def test_embedded_xml_other_than_devinf_travels_as_text():
    message = rich_message()
    obj = etree.fromstring('<object id="7"><title>Jé</title></object>')
    message.commands[2].items[0].data = obj
    decoded = wbxml.decode(wbxml.encode(message, WB), WB)
    text = decoded.commands[2].items[0].data
    assert isinstance(text, str)
    assert etree.fromstring(text.encode('utf-8')).findtext('title') == 'Jé'


# --------------------------------------------------------- content types

@pytest.mark.parametrize('value,kind', [
    ('application/vnd.syncml+xml', 'xml'),
    ('application/vnd.syncml+xml; charset=UTF-8', 'xml'),
    ('text/xml', 'xml'), ('Application/XML ; charset=utf-8', 'xml'),
    ('application/vnd.syncml+wbxml', 'wbxml'),
    ('APPLICATION/VND.SYNCML+WBXML;charset=x', 'wbxml'),
])
def test_media_types(value, kind):
    assert wbxml.media_type(value) == kind
    assert wbxml.media_type(wbxml.content_type_for(kind)) == kind


@pytest.mark.parametrize('value', [None, '', 'text/plain', 'application/'
                                   'x-www-form-urlencoded', 'wbxml'])
def test_other_media_types_are_415(value):
    with pytest.raises(ProtocolError) as info:
        wbxml.media_type(value)
    assert info.value.status == 415


def test_decode_and_encode_by_content_type():
    message = rich_message()
    xml = wbxml.encode(message, 'application/vnd.syncml+xml')
    assert xml == codec.encode(message)
    assert codec.encode(wbxml.decode(xml, 'text/xml; charset=utf-8')) == xml
    binary = wbxml.reencode(xml, WB)
    assert binary == wbxml.encode(message, WB)
    assert wbxml.reencode(xml, 'application/vnd.syncml+xml') is xml
    with pytest.raises(ProtocolError):
        wbxml.decode(binary, 'application/vnd.syncml+xml')
    with pytest.raises(ProtocolError):
        wbxml.decode(xml, WB)


def test_encoder_refuses_what_wbxml_cannot_carry():
    with pytest.raises(ValueError):
        wbxml.from_tree(etree.fromstring('<html/>'))
    root = etree.fromstring(codec.encode(rich_message()))
    root[0].set('lang', 'en')
    with pytest.raises(ValueError):
        wbxml.from_tree(root)
    with pytest.raises(ProtocolError):
        wbxml.from_xml(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


# ---------------------------------------------------------- hostile input

def refused(data, status=400, **kw):
    with pytest.raises(ProtocolError) as info:
        wbxml.to_tree(data, **kw)
    assert info.value.status == status, str(info.value)
    return str(info.value)


def test_minimal_message_decodes():
    message = wbxml.decode(MINIMAL, WB)
    assert message.header.target.uri == 'srv'
    assert message.final and message.commands == []


def test_every_truncation_is_a_protocol_error():
    data = (DATA / 'syncevolution-1.2-1-client.wbxml').read_bytes()
    for end in range(len(data)):
        with pytest.raises(ProtocolError):
            wbxml.decode(data[:end], WB)


@pytest.mark.parametrize('data,reason', [
    (b'', 'empty'),
    (bytes([0x04, 0xA4, 0x01, 0x6A, 0x00]) + HDR, 'version'),
    (bytes([0x02, 0x9F, 0x50, 0x6A, 0x00]) + HDR, 'public id'),
    (bytes([0x02, 0xA4, 0x01, 0x6A, 0x7F, 0x00]), 'past the end'),
    (bytes([0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), 'multi-byte'),
    (bytes([0x02, 0x00, 0x05, 0x6A, 0x02]) + b'x\x00' + HDR,
     'outside the table'),
    (bytes([0x02, 0x00, 0x00, 0x6A, 0x03]) + b'abc' + HDR, 'not terminated'),
    (bytes([0x02, 0x00, 0x00, 0x6A, 0x04]) + b'abc\x00' + HDR,
     'document type'),
    (HEAD12 + bytes([0x6A]) + HDR[1:], 'root element'),
    (HEAD12 + HDR[:-1] + bytes([0xC3, 0x7F, 0x00]), 'past the end'),
    (HEAD12 + bytes([0xED]), 'attributes'),
    (HEAD12 + bytes([0x6D, 0x43]), 'processing instructions'),
    (HEAD12 + bytes([0x6D, 0xC0]), 'extension'),
    (HEAD12 + bytes([0x6D, 0x7F]), 'unknown tag'),
    (HEAD12 + bytes([0x6D, 0x00, 0x05]), 'code page 5'),
    (HEAD12 + bytes([0x03]) + b'x\x00', 'before the root'),
    (MINIMAL + b'\x01', 'after the end'),
    (HEAD12 + bytes([0x6D, 0x2D]), 'truncated'),
    (HEAD12 + bytes([0x2D, 0x2D]), 'after the end'),
    (HEAD12 + bytes([0x6D, 0x71, 0x02, 0x00, 0x01, 0x01]), 'XML cannot'),
    (HEAD12 + bytes([0x6D, 0x71, 0x02, 0x84, 0xFF, 0xFF, 0x7F, 0x01, 0x01]),
     'out of range'),
    (HEAD12 + bytes([0x6D, 0x71, 0x03]) + b'\xff\xfe\x00\x01\x01',
     'not valid utf-8'),
    (bytes([0x02, 0xA4, 0x01, 0x04, 0x03]) + b'1z\x00' + bytes([0x44, 0x00])
     + bytes([0x01]), 'literal tag'),
    (HEAD12 + bytes([0x6D, 0x6C, 0x03]) + b'x\x00' + bytes([0x71, 0x01]),
     'mixes'),
])
def test_malformed_input(data, reason):
    assert reason.lower() in refused(data).lower()


def test_unsupported_charset_is_415():
    refused(bytes([0x02, 0xA4, 0x01, 0x83, 0x6A, 0x00]) + HDR, 415)


def test_size_limit_is_413():
    refused(MINIMAL, 413, max_size=len(MINIMAL) - 1)
    assert wbxml.to_tree(MINIMAL, max_size=len(MINIMAL)) is not None
    with pytest.raises(ProtocolError) as info:
        wbxml.decode(MINIMAL, WB, max_size=10)
    assert info.value.status == 413


def test_depth_limit():
    deep = HEAD12 + bytes([0x6D]) + bytes([0x54]) * 100
    assert 'deeper' in refused(deep)
    shallow = HEAD12 + bytes([0x6D]) + bytes([0x54]) * 5 + b'\x01' * 6
    assert wbxml.to_tree(shallow, max_depth=10) is not None
    refused(shallow, max_depth=4)


def test_string_table_amplification_is_413():
    big = b'A' * 4000 + b'\x00'
    head = bytes([0x02, 0xA4, 0x01, 0x6A]) + bytes([0x9F, 0x21]) + big
    body = bytes([0x6D, 0x71]) + bytes([0x83, 0x00]) * 2000 + b'\x01\x01'
    refused(head + body, 413)


def _with_data(opaque):
    return (HEAD12 + HDR + bytes([0x6B, 0x5F, 0x54, 0x4F, 0xC3])
            + bytes([len(opaque)]) + opaque + b'\x01\x01\x01\x01\x01')


def test_embedded_devinf_is_checked_like_a_document():
    devinf = bytes([0x02, 0xA4, 0x03, 0x6A, 0x00, 0x4A, 0x51, 0x03])
    good = devinf + b'Ex\x00\x01\x01'
    root = wbxml.to_tree(_with_data(good))
    data = root.find('.//{*}Data')
    assert data[0].tag == '{syncml:devinf}DevInf'
    assert data[0].findtext('{syncml:devinf}Man') == 'Ex'
    assert 'truncated' in refused(_with_data(good[:-1]))
    assert 'after the end' in refused(_with_data(good + b'\x01'))
    # a SyncML document is not taken for DevInf: it is (bad) text
    assert 'not valid' in refused(_with_data(MINIMAL))


def test_not_bytes():
    with pytest.raises(ProtocolError):
        wbxml.to_tree('text')
    with pytest.raises(ProtocolError):
        wbxml.decode(None, WB)
