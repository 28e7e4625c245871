"""SyncML codec: round trips, third-party message shapes, hostile input."""
import random

import pytest
from lxml import etree

from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml.errors import ProtocolError

TRICKY_TEXT = ('BEGIN:VCARD\r\nFN:Zoë Œuvre\r\n  <&]]>--\t\n'
               + 'x' * 10000 + '\n\u4e2d\u6587 \U0001F600 end  ')


def header(**kw):
    values = dict(session_id='42', msg_id=3,
                  target=m.Location('http://example.org/pub', 'Pub'),
                  source=m.Location('client-7', 'alice'))
    values.update(kw)
    return m.Header(**values)


def rich_message(version='1.2'):
    obj = etree.fromstring(
        '<object portal_type="Person" id="7"><title>Jé &amp; co</title>'
        '<description/></object>')
    xupdate = etree.fromstring(
        '<xupdate:modifications version="1.0" '
        'xmlns:xupdate="http://www.xmldb.org/xupdate">'
        '<xupdate:update select="/object/title">New</xupdate:update>'
        '<xupdate:insert-after select="/object/title"><plain a="1"/>'
        '</xupdate:insert-after></xupdate:modifications>')
    devinf = etree.fromstring(
        "<DevInf xmlns='syncml:devinf'><VerDTD>1.2</VerDTD><Man>Example</Man>"
        "<DataStore><SourceRef>./people</SourceRef></DataStore></DevInf>")
    hdr = header(cred=m.Cred.md5('alice', 'secret', b'n0nce'),
                 meta=m.Meta(max_msg_size=150000, max_obj_size=4000000),
                 resp_uri='http://example.org/pub?s=42',
                 ver_dtd=version, ver_proto='SyncML/' + version)
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
        m.Results(cmd_id=5, msg_ref=1, cmd_ref=2,
                  meta=m.Meta(type=m.DEVINF_TYPE),
                  items=[m.Item(source=m.Location('./devinf12'),
                                data=devinf)]),
        m.Alert(cmd_id=6, code=200, items=[m.Item(
            target=m.Location('people'), source=m.Location('./people'),
            meta=m.Meta(anchor_last='1', anchor_next='2',
                        max_obj_size=4000000))]),
        m.Sync(cmd_id=7, target=m.Location('people'),
               source=m.Location('./people'), number_of_changes=4,
               meta=m.Meta(max_obj_size=100), no_resp=True, commands=[
                   m.Add(cmd_id=8, meta=m.Meta(type='text/xml'),
                         items=[m.Item(source=m.Location('gid7'),
                                       data=obj)]),
                   m.Replace(cmd_id=9, items=[m.Item(
                       target=m.Location('rid7'), source=m.Location('gid7'),
                       data=xupdate)]),
                   m.Add(cmd_id=10, meta=m.Meta(type='text/vcard',
                                                version='3.0'),
                         items=[m.Item(source=m.Location('v1'),
                                       data=TRICKY_TEXT, more_data=True,
                                       meta=m.Meta(size=123456))]),
                   m.Delete(cmd_id=11, no_resp=True,
                            items=[m.Item(source=m.Location('gid9'))]),
               ]),
        m.Map(cmd_id=12, target=m.Location('people'),
              source=m.Location('./people'),
              map_items=[m.MapItem('s1', 'c1'), m.MapItem('s2', 'c2')]),
        m.Alert(cmd_id=13, code=222, no_resp=True),
    ]
    return m.Message(hdr, commands, final=False)


@pytest.mark.parametrize('version', ['1.1', '1.2'])
def test_rich_message_round_trips(version):
    message = rich_message(version)
    data = codec.encode(message)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert ('xmlns="SYNCML:SYNCML%s"' % version).encode() in data
    assert b'<VerProto>SyncML/%s</VerProto>' % version.encode() in data
    decoded = codec.decode(data)
    assert decoded == message
    assert codec.encode(decoded) == data


def test_text_data_survives_exactly():
    for text in (TRICKY_TEXT, '', '   ', '\r', 'a]]>b', '\n\n', ']]>'):
        message = m.Message(header(), [m.Add(cmd_id=1, items=[
            m.Item(source=m.Location('x'), data=text)])])
        decoded = codec.decode(codec.encode(message))
        assert decoded.commands[0].items[0].data == text


def test_embedded_element_stays_outside_syncml_namespace():
    obj = etree.fromstring('<object id="1"><title>t</title></object>')
    message = m.Message(header(), [m.Add(cmd_id=1, items=[
        m.Item(source=m.Location('x'), data=obj)])])
    data = codec.decode(codec.encode(message)).commands[0].items[0].data
    assert data.tag == 'object'
    assert data.find('title').text == 't'
    assert data.getparent() is None and data.tail is None


def test_embedded_element_leaked_into_syncml_namespace_is_recovered():
    # a peer that forgot xmlns="" on the embedded document
    data = codec.encode(m.Message(header(), [m.Add(cmd_id=1, items=[
        m.Item(source=m.Location('x'), data='PLACEHOLDER')])]))
    data = data.replace(b'PLACEHOLDER', b'<object id="1"><a>v</a></object>')
    element = codec.decode(data).commands[0].items[0].data
    assert element.tag == 'object' and element.find('a').text == 'v'
    assert None not in element.nsmap


def test_encoded_size_is_what_the_command_adds_to_a_message():
    command = m.Replace(items=[m.Item(target=m.Location('r'), data='ü<x>')])
    empty = codec.encode(m.Message(header(), []))
    full = codec.encode(m.Message(header(), [command]))
    assert len(full) - len(empty) == codec.encoded_size(command)
    assert command.cmd_id is None  # numbered in the output only


def test_error_reply_answers_the_header_with_the_status():
    message = m.Message(header(), [m.Alert(cmd_id=1, code=200)])
    reply = codec.decode(codec.encode(m.error_reply(message, 405, msg_id=3)))
    assert reply.final and reply.header.msg_id == 3
    assert reply.header.session_id == message.header.session_id
    assert reply.header.target.uri == message.header.source.uri
    assert reply.header.source.uri == message.header.target.uri
    status = reply.header_status()
    assert (status.code, status.cmd, status.msg_ref) == \
        (405, 'SyncHdr', message.header.msg_id)
    assert reply.commands == [status]


def test_encode_without_cmd_ids_numbers_output_only():
    message = m.Message(header(), [m.Alert(code=200), m.Alert(code=222)])
    decoded = codec.decode(codec.encode(message))
    assert [c.cmd_id for c in decoded.commands] == [1, 2]
    assert message.commands[0].cmd_id is None


def test_encode_refuses_what_xml_cannot_carry():
    message = m.Message(header(), [m.Add(cmd_id=1, items=[
        m.Item(data='bell \x07')])])
    with pytest.raises(ValueError, match='cannot be sent in XML'):
        codec.encode(message)
    with pytest.raises(ValueError, match='version'):
        codec.encode(m.Message(header()), version='1.0')


# A first message shaped like SyncEvolution's (SyncML 1.2, single quotes,
# per-element metinf namespaces, CDATA), written for these tests.
PEER_MSG1 = b"""<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr>
 <VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>17</SessionID><MsgID>1</MsgID>
 <Target><LocURI>http://127.0.0.1:8080/sync</LocURI></Target>
 <Source><LocURI>phone-0815</LocURI><LocName>bob</LocName></Source>
 <Cred><Meta><Format xmlns='syncml:metinf'>b64</Format><Type xmlns='syncml:metinf'>syncml:auth-md5</Type></Meta>
       <Data>ZmFrZWNyZWRlbnRpYWw=</Data></Cred>
 <Meta><MaxMsgSize xmlns='syncml:metinf'>150000</MaxMsgSize><MaxObjSize xmlns='syncml:metinf'>4000000</MaxObjSize></Meta>
</SyncHdr><SyncBody>
 <Put><CmdID>1</CmdID><Meta><Type xmlns='syncml:metinf'>application/vnd.syncml-devinf+xml</Type></Meta>
  <Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns='syncml:devinf'><VerDTD>1.2</VerDTD>
   <Man>Example</Man><DevID>phone-0815</DevID><DevTyp>phone</DevTyp><UTC/><SupportLargeObjs/>
   <DataStore><SourceRef>./contacts</SourceRef><SyncCap><SyncType>1</SyncType><SyncType>7</SyncType></SyncCap></DataStore>
  </DevInf></Data></Item></Put>
 <Get><CmdID>2</CmdID><Meta><Type xmlns='syncml:metinf'>application/vnd.syncml-devinf+xml</Type></Meta>
  <Item><Target><LocURI>./devinf12</LocURI></Target></Item></Get>
 <Alert><CmdID>3</CmdID><Data>201</Data><Item><Target><LocURI>contacts</LocURI></Target>
  <Source><LocURI>./contacts</LocURI></Source><Meta><Anchor xmlns='syncml:metinf'><Next>20260314T101500Z</Next></Anchor>
  <MaxObjSize xmlns='syncml:metinf'>4000000</MaxObjSize></Meta></Item></Alert>
 <Sync><CmdID>4</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./contacts</LocURI></Source>
  <Add><CmdID>5</CmdID><Meta><Type xmlns='syncml:metinf'>text/vcard</Type></Meta>
   <Item><Source><LocURI>12</LocURI></Source><Data><![CDATA[BEGIN:VCARD
VERSION:3.0
FN:Bob <b> & Co
END:VCARD
]]></Data></Item></Add>
  <Atomic><CmdID>6</CmdID></Atomic>
 </Sync>
 <Final/></SyncBody></SyncML>"""


def test_third_party_first_message_decodes():
    message = codec.decode(PEER_MSG1)
    hdr = message.header
    assert (hdr.ver_dtd, hdr.session_id, hdr.msg_id) == ('1.2', '17', 1)
    assert hdr.source == m.Location('phone-0815', 'bob')
    assert hdr.cred == m.Cred('ZmFrZWNyZWRlbnRpYWw=', 'syncml:auth-md5',
                              'b64')
    assert (hdr.meta.max_msg_size, hdr.meta.max_obj_size) == (150000,
                                                              4000000)
    put, get, alert, sync = message.commands
    assert isinstance(put, m.Put) and put.meta.type == m.DEVINF_TYPE
    devinf = put.items[0].data
    assert etree.QName(devinf).namespace == 'syncml:devinf'
    assert devinf.findtext('{syncml:devinf}DevID') == 'phone-0815'
    assert get.items[0].target.uri == './devinf12'
    assert alert.code == 201
    assert alert.items[0].meta.anchor_next == '20260314T101500Z'
    assert alert.items[0].meta.anchor_last is None
    add, atomic = sync.commands
    assert add.items[0].data == ('BEGIN:VCARD\nVERSION:3.0\nFN:Bob <b> & Co'
                                 '\nEND:VCARD\n')
    assert atomic == m.UnknownCommand('Atomic', 6)
    assert message.final


def test_syncml_11_and_namespace_less_documents_decode():
    data11 = (PEER_MSG1.replace(b'SYNCML1.2', b'SYNCML1.1')
              .replace(b'<VerDTD>1.2</VerDTD><VerProto>SyncML/1.2',
                       b'<VerDTD>1.1</VerDTD><VerProto>SyncML/1.1'))
    assert codec.decode(data11).header.ver_dtd == '1.1'
    bare = PEER_MSG1.replace(b" xmlns='SYNCML:SYNCML1.2'", b'')
    assert codec.decode(bare).commands[2].code == 201
    # a namespace-less root without XML declaration, as pysyncml sends
    assert codec.decode(bare.split(b'?>', 1)[1]).header.msg_id == 1


def _status_of(data, **kw):
    with pytest.raises(ProtocolError) as info:
        codec.decode(data, **kw)
    return info.value.status, str(info.value)


def test_hostile_documents_are_refused():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
              b'<SyncML>&lol2;</SyncML>')
    status, reason = _status_of(laughs)
    assert status == 400 and 'DOCTYPE' in reason
    external = (b'<!DOCTYPE SyncML SYSTEM "http://example.org/x.dtd">'
                + PEER_MSG1.split(b'?>', 1)[1])
    assert _status_of(external)[0] == 400
    status, reason = _status_of(PEER_MSG1, max_size=1000)
    assert status == 413 and '1000' in reason
    assert _status_of(b'')[0] == 400
    assert _status_of(b'<SyncML')[0] == 400
    assert _status_of(None)[0] == 400
    status, reason = _status_of(b'<html><body>hello</body></html>')
    assert status == 400 and 'root element is <html>' in reason


@pytest.mark.parametrize('old, new, status, words', [
    (b'</SyncML>', b'</SyncMLX>', 400, 'malformed'),
    (b"SYNCML:SYNCML1.2'", b"urn:other'", 400, 'namespace'),
    (b"SYNCML:SYNCML1.2'", b"SYNCML:SYNCML1.0'", 513, '1.0'),
    (b'<VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto>',
     b'<VerDTD>1.0</VerDTD><VerProto>SyncML/1.0</VerProto>', 505, 'VerDTD'),
    (b'<VerProto>SyncML/1.2</VerProto>', b'<VerProto>SyncML/3</VerProto>',
     513, 'VerProto'),
    (b'<VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto>',
     b'<VerDTD>1.1</VerDTD><VerProto>SyncML/1.1</VerProto>', 400, 'match'),
    (b'<MsgID>1</MsgID>', b'', 400, 'MsgID'),
    (b'<MsgID>1</MsgID>', b'<MsgID>one</MsgID>', 400, 'MsgID'),
    (b'<MsgID>1</MsgID>', b'<MsgID>-1</MsgID>', 400, 'integer'),
    (b'<SessionID>17</SessionID>', b'', 400, 'SessionID'),
    (b'<VerDTD>1.2</VerDTD>', b'', 400, 'VerDTD'),
    (b'<Target><LocURI>http://127.0.0.1:8080/sync</LocURI></Target>', b'',
     400, 'Target'),
    (b'<Source><LocURI>phone-0815</LocURI><LocName>bob</LocName></Source>',
     b'<Source><LocName>bob</LocName></Source>', 400, 'LocURI'),
    (b'<CmdID>3</CmdID>', b'<CmdID>3.5</CmdID>', 400, 'CmdID'),
    (b'<CmdID>3</CmdID>', b'', 400, 'CmdID'),
    (b'<Data>201</Data>', b'<Data>slow</Data>', 400, 'Alert/Data'),
    (b'<Data>201</Data>', b'', 400, 'Alert has no Data'),
    (b'<MaxMsgSize xmlns=\'syncml:metinf\'>150000',
     b'<MaxMsgSize xmlns=\'syncml:metinf\'>big', 400, 'MaxMsgSize'),
    (b'</SyncHdr><SyncBody>', b'</SyncHdr><Body>', 400, 'SyncBody'),
    (b'<Data><DevInf', b'<Data>text<DevInf', 400, 'mixes'),
])
def test_malformed_messages_name_the_fault(old, new, status, words):
    assert old in PEER_MSG1
    got_status, reason = _status_of(PEER_MSG1.replace(old, new, 1))
    assert got_status == status
    assert words in reason


def test_status_without_required_fields():
    data = codec.encode(m.Message(header(), [m.Status(
        cmd_id=1, msg_ref=1, cmd_ref=0, cmd='SyncHdr', code=200)]))
    for field in (b'<MsgRef>1</MsgRef>', b'<CmdRef>0</CmdRef>',
                  b'<Cmd>SyncHdr</Cmd>', b'<Data>200</Data>'):
        status, reason = _status_of(data.replace(field, b''))
        assert status == 400
        assert field[1:field.index(b'>')].decode() in reason


def test_fuzzed_messages_raise_only_protocol_error():
    rng = random.Random(20240229)
    seeds = [codec.encode(rich_message('1.2')), PEER_MSG1]
    junk = [b'<', b'>', b'&', b']]>', b'<!DOCTYPE x>', b'\x00', b'\xff',
            b'&#0;', b'<CmdID>', b'</Item>', b'"', b"'", b'xmlns="a"']
    decoded = 0
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            if not data:
                break
            action = rng.randrange(5)
            pos = rng.randrange(len(data))
            if action == 0:
                data[pos] = rng.randrange(256)
            elif action == 1:
                del data[pos:pos + rng.randint(1, 40)]
            elif action == 2:
                data[pos:pos] = rng.choice(junk)
            elif action == 3:
                del data[pos:]
            else:
                start = rng.randrange(len(data))
                data[pos:pos] = data[start:start + rng.randint(1, 200)]
        try:
            message = codec.decode(bytes(data))
        except ProtocolError as exc:
            assert 400 <= exc.status < 600 and str(exc)
        else:
            assert isinstance(message, m.Message)
            decoded += 1
    assert decoded < 400  # the mutations did break messages


def test_structurally_fuzzed_messages_decode_or_raise_protocol_error():
    rng = random.Random(1789)
    seeds = [codec.encode(rich_message('1.2')), PEER_MSG1]
    texts = ['', ' ', 'x', '-1', '0', '99999999999', '1.2', '\u00e9', '12']
    outcomes = set()
    for _ in range(300):
        root = etree.fromstring(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            element = rng.choice(list(root.iter()))
            parent = element.getparent()
            action = rng.randrange(3)
            if action == 0 and parent is not None:
                parent.remove(element)
            elif action == 1:
                element.text = rng.choice(texts)
            elif parent is not None:
                parent.append(etree.fromstring(etree.tostring(element)))
        try:
            message = codec.decode(etree.tostring(root))
        except ProtocolError:
            outcomes.add('refused')
            continue
        outcomes.add('decoded')
        if not any(isinstance(c, m.UnknownCommand) for c in message.commands
                   for c in [c] + list(getattr(c, 'commands', []))):
            assert codec.decode(codec.encode(message)) == message
    assert outcomes == {'refused', 'decoded'}


def test_html_page_with_doctype_travels_as_text():
    page = '<!DOCTYPE html>\n<html><body>&amp; <!ENTITY x></body></html>'
    message = m.Message(header(), [m.Replace(cmd_id=1, items=[
        m.Item(target=m.Location('doc'), data=page)])])
    decoded = codec.decode(codec.encode(message))
    assert decoded.commands[0].items[0].data == page
