"""DevInf: our device information, its XML, and a real peer's."""
from pathlib import Path

import pytest
from lxml import etree

from Products.ERP5SyncML.syncml import devinf as d
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import wbxml
from Products.ERP5SyncML.syncml.errors import ProtocolError

DATA = Path(__file__).parent / 'data'
NS = '{syncml:devinf}'


def ours(version='1.2'):
    return d.server_devinf('http://example.org/pub', ['contacts', 'card'],
                           version=version, sw_v='1.0')


def test_server_devinf_says_what_we_support():
    root = d.to_element(ours())
    assert root.tag == NS + 'DevInf' and root.nsmap == {None: 'syncml:devinf'}
    assert [etree.QName(e).localname for e in root] == [
        'VerDTD', 'Man', 'Mod', 'SwV', 'DevID', 'DevTyp', 'UTC',
        'SupportLargeObjs', 'SupportNumberOfChanges', 'DataStore',
        'DataStore']
    assert root.findtext(NS + 'DevTyp') == 'server'
    store = root.find(NS + 'DataStore')
    assert [etree.QName(e).localname for e in store] == [
        'SourceRef', 'MaxGUIDSize', 'Rx-Pref', 'Rx', 'Tx-Pref', 'Tx',
        'SyncCap']
    assert store.findtext(NS + 'SourceRef') == 'contacts'
    assert store.findtext(NS + 'MaxGUIDSize') == '64'
    assert store.findtext(NS + 'Rx-Pref/' + NS + 'CTType') == 'text/vcard'
    assert store.findtext(NS + 'Rx-Pref/' + NS + 'VerCT') == '3.0'
    assert store.findtext(NS + 'Rx/' + NS + 'CTType') == 'text/x-vcard'
    assert store.findtext(NS + 'Rx/' + NS + 'VerCT') == '2.1'
    assert [e.text for e in store.iter(NS + 'SyncType')] == \
        [str(n) for n in range(1, 8)]


@pytest.mark.parametrize('version', ['1.1', '1.2'])
def test_round_trip(version):
    info = ours(version)
    again = d.from_element(etree.fromstring(d.to_xml(info)))
    assert again == info
    assert again.datastore('./card').source_ref == 'card'
    assert again.datastore('contacts').content_types() == [
        ('text/vcard', '3.0'), ('text/x-vcard', '2.1')]
    assert again.datastore('missing') is None


@pytest.mark.parametrize('version', ['1.1', '1.2'])
def test_travels_in_results_as_xml_and_wbxml(version):
    element = d.to_element(ours(version))
    header = m.Header(session_id='1', msg_id=2, target=m.Location('dev'),
                      source=m.Location('http://example.org/pub'),
                      ver_dtd=version, ver_proto='SyncML/' + version)
    message = m.Message(header, [m.Results(
        cmd_id=1, msg_ref=1, cmd_ref=2, meta=m.Meta(type=m.DEVINF_TYPE),
        items=[m.Item(source=m.Location(m.devinf_uri(version)),
                      data=element)])])
    for content_type in (wbxml.XML_TYPE, wbxml.WBXML_TYPE):
        data = wbxml.encode(message, content_type)
        received = wbxml.decode(data, content_type).commands[0]
        assert received.meta.type == m.DEVINF_TYPE
        assert d.from_element(received.items[0].data) == ours(version)


def test_real_syncevolution_devinf():
    data = (DATA / 'syncevolution-1.2-1-client.wbxml').read_bytes()
    put = next(c for c in wbxml.decode(data, wbxml.WBXML_TYPE).commands
               if isinstance(c, m.Put))
    info = d.from_element(put.items[0].data)
    assert info.mod == 'SyncEvolution' and info.ver_dtd == '1.2'
    assert info.dev_id == 'capture-dev'
    assert info.support_large_objs and info.support_number_of_changes
    store = info.datastore('addressbook')
    assert store.rx_pref == ('text/vcard', '3.0')
    assert ('text/x-vcard', '2.1') in store.rx
    assert set(range(1, 8)) <= set(store.sync_types)


def test_namespace_less_peer_devinf():
    info = d.from_element(etree.fromstring(
        '<DevInf><VerDTD>1.1</VerDTD><DevID>phone</DevID>'
        '<DataStore><SourceRef>Contacts</SourceRef><Rx-Pref><CTType>'
        'text/x-vcard</CTType><VerCT>2.1</VerCT></Rx-Pref><SyncCap>'
        '<SyncType>1</SyncType></SyncCap><Unknown/></DataStore>'
        '<Ext><XNam>x</XNam></Ext></DevInf>'))
    assert info.datastore('Contacts').rx_pref == ('text/x-vcard', '2.1')
    assert info.datastore('Contacts').sync_types == (1,)
    assert not info.utc


@pytest.mark.parametrize('xml,reason', [
    ('<Other/>', 'not a DevInf'),
    ('<DevInf><VerDTD>1.2</VerDTD></DevInf>', 'DevID'),
    ('<DevInf><DevID>x</DevID></DevInf>', 'VerDTD'),
    ('<DevInf><VerDTD>1.2</VerDTD><DevID>x</DevID><DataStore/></DevInf>',
     'SourceRef'),
    ('<DevInf><VerDTD>1.2</VerDTD><DevID>x</DevID><DataStore><SourceRef>a'
     '</SourceRef><SyncCap><SyncType>two</SyncType></SyncCap></DataStore>'
     '</DevInf>', 'SyncType'),
    ('<DevInf><VerDTD>1.2</VerDTD><DevID>x</DevID><DataStore><SourceRef>a'
     '</SourceRef><MaxGUIDSize>-1</MaxGUIDSize></DataStore></DevInf>',
     'MaxGUIDSize'),
    ('<DevInf><VerDTD>1.2</VerDTD><DevID>x</DevID><DataStore><SourceRef>a'
     '</SourceRef><Rx><VerCT>1</VerCT></Rx></DataStore></DevInf>', 'CTType'),
])
def test_bad_devinf(xml, reason):
    with pytest.raises(ProtocolError) as info:
        d.from_element(etree.fromstring(xml))
    assert reason in str(info.value)


def test_unsupported_version_is_refused_on_output():
    with pytest.raises(ValueError):
        d.to_element(d.DevInf(dev_id='x', ver_dtd='1.0'))
    with pytest.raises(ProtocolError):
        d.from_element(None)
