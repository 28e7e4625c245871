"""SyncEvolution client against SyncEvolution's own server on 127.0.0.1.

Proves the test harness (tests/syncevolution.py) with two real peers, and
checks our WBXML codec on every message of a real WBXML session, sent by
both sides, against libwbxml's ``wbxml2xml``.
"""
import datetime
import http.client
import http.server
import os
import shutil
import subprocess
import threading
import time

import pytest
from lxml import etree

import syncevolution as se
from Products.ERP5SyncML.mapping import vcard
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import wbxml

CARDS = {
    'ada.vcf': 'BEGIN:VCARD\nVERSION:3.0\nN:Lovelace;Ada;;;\nFN:Ada Lovelace\n'
               'EMAIL;TYPE=INTERNET:ada@example.org\nTEL;TYPE=CELL:+44 20 1\n'
               'END:VCARD',
    'zoe.vcf': 'BEGIN:VCARD\nVERSION:3.0\nN:Œuvre;Zoë;;;\nFN:Zoë Œuvre\n'
               'ORG:Société Générale\nNOTE:héllo wörld\nEND:VCARD',
    'li.vcf': 'BEGIN:VCARD\nVERSION:3.0\nN:李;小龙;;;\nFN:李小龙\n'
              'EMAIL:li@example.cn\nEND:VCARD',
}


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    se.ensure_installed()
    srv = se.HttpServer(tmp_path_factory.mktemp('syncevo-server'))
    srv.clients = {}
    for device in ('harness-xml', 'harness-wbxml'):
        srv.clients[device] = srv.add_client(device, 'alice', 'secret')
    srv.start()
    yield srv
    srv.stop()


def _names(directory):
    """{FN: text} of the vCards in ``directory``."""
    result = {}
    for text in se.read_vcards(directory).values():
        (name,) = se.vcard_property(text, 'FN')
        result[name] = text
    return result


def _touch_later(path):
    # the file backend tracks changes by modification time
    later = time.time() + 2
    os.utime(path, (later, later))


def test_slow_then_two_way_both_directions(server, tmp_path):
    client = se.Client(tmp_path, server.url, 'alice', 'secret',
                       'harness-xml')
    server_data = server.clients['harness-xml']
    se.write_vcards(client.data, CARDS)
    person = {'first_name': 'Émile', 'last_name': 'Zola', 'email':
              'emile@example.fr', 'organisation': "L'Aurore, Paris",
              'address': '21 bis, rue de Bruxelles\nParis\n\n75009\nFrance',
              'description': 'J’accuse…!\nsecond line', 'telephone': '+33 1',
              'title': 'Émile Zola', 'birthday': datetime.date(1840, 4, 2)}
    (client.data / 'zola.vcf').write_text(
        vcard.serialize(person, vcard.VCARD21), newline='')

    run = client.sync('slow', timeout=60)
    assert run.returncode == 0, run.describe()
    on_server = _names(server_data)
    # a vCard 2.1 we wrote, as SyncEvolution's server stored it (3.0)
    assert vcard.parse(on_server.pop('Émile Zola')) == person
    assert sorted(on_server) == ['Ada Lovelace', 'Zoë Œuvre', '李小龙']
    assert se.vcard_property(on_server['Zoë Œuvre'], 'NOTE') == \
        ['héllo wörld']
    assert se.vcard_property(on_server['Ada Lovelace'], 'EMAIL') == \
        ['ada@example.org']

    # client: modify one card, delete one; server: add one
    modified = client.data / 'ada.vcf'
    se.write_vcards(client.data, {'ada.vcf': CARDS['ada.vcf'].replace(
        'ada@example.org', 'ada@analytical.example')})
    _touch_later(modified)
    (client.data / 'li.vcf').unlink()
    se.write_vcards(server_data, {'new.vcf': (
        'BEGIN:VCARD\nVERSION:3.0\nN:Hopper;Grace;;;\nFN:Grace Hopper\n'
        'TEL:+1 555 0100\nEND:VCARD')})

    run = client.sync('two-way', timeout=60)
    assert run.returncode == 0, run.describe()
    on_server = _names(server_data)
    on_client = _names(client.data)
    on_server.pop('Émile Zola')
    on_client.pop('Émile Zola')
    assert sorted(on_server) == ['Ada Lovelace', 'Grace Hopper', 'Zoë Œuvre']
    assert sorted(on_client) == sorted(on_server)
    assert se.vcard_property(on_server['Ada Lovelace'], 'EMAIL') == \
        ['ada@analytical.example']
    assert se.vcard_property(on_client['Grace Hopper'], 'TEL') == \
        ['+1 555 0100']


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Reverse proxy that keeps every request and response body."""

    protocol_version = 'HTTP/1.1'
    target = None
    exchanges = None

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        host, port = self.target
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request('POST', self.path, body, {
            'Content-Type': self.headers.get('Content-Type', '')})
        response = connection.getresponse()
        answer = response.read()
        self.exchanges.append((self.headers.get('Content-Type'), body,
                               response.getheader('Content-Type'), answer))
        self.send_response(response.status)
        self.send_header('Content-Type',
                         response.getheader('Content-Type') or 'text/plain')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        connection.close()


def _libwbxml_tree(data, tmp_path, name):
    source = tmp_path / (name + '.wbxml')
    target = tmp_path / (name + '.xml')
    source.write_bytes(data)
    subprocess.run(['wbxml2xml', '-m', '0', '-o', str(target), str(source)],
                   check=True, capture_output=True, timeout=30)
    text = target.read_bytes()
    # drop the DOCTYPE our hardened parser refuses
    text = text[text.index(b'<SyncML'):]
    return etree.fromstring(text)


def _shape(element):
    """Tag/text structure, whitespace-insensitive (wbxml2xml indents and
    writes CDATA, where an XML parser reads CR LF as LF)."""
    children = [child for child in element if isinstance(child.tag, str)]
    text = None if children else \
        (element.text or '').replace('\r', '').strip()
    return (etree.QName(element).localname, text,
            [_shape(child) for child in children])


def test_real_wbxml_session_decodes_like_libwbxml(server, tmp_path):
    se.ensure_installed(('libwbxml2-utils',))
    assert shutil.which('wbxml2xml')
    exchanges = []
    handler = type('Handler', (_Recorder,), {
        'target': ('127.0.0.1', server.port), 'exchanges': exchanges})
    proxy = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = server.url.replace(':%d/' % server.port,
                                 ':%d/' % proxy.server_address[1])
        client = se.Client(tmp_path, url, 'alice', 'secret',
                           'harness-wbxml', wbxml=True)
        se.write_vcards(client.data, CARDS)
        run = client.sync('slow', timeout=60)
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(10)
    assert run.returncode == 0, run.describe()
    assert sorted(_names(server.clients['harness-wbxml'])) == \
        ['Ada Lovelace', 'Zoë Œuvre', '李小龙']

    messages = []
    for request_type, request, response_type, response in exchanges:
        assert wbxml.media_type(request_type) == 'wbxml'
        assert wbxml.media_type(response_type) == 'wbxml'
        messages += [request, response]
    assert len(messages) >= 4
    vcards = []
    for index, data in enumerate(messages):
        ours = wbxml.to_tree(data)
        theirs = _libwbxml_tree(data, tmp_path, 'm%d' % index)
        assert _shape(ours) == _shape(theirs)
        message = wbxml.decode(data, wbxml.WBXML_TYPE)
        # the same message through our WBXML encoder and back
        again = wbxml.decode(wbxml.encode(message, wbxml.WBXML_TYPE),
                             wbxml.WBXML_TYPE)
        assert codec.encode(again) == codec.encode(message)
        for command in message.commands:
            for sub in getattr(command, 'commands', []):
                vcards += [item.data for item in sub.items]
    # the client's first message carries its DevInf, decoded to a tree
    first = wbxml.decode(messages[0], wbxml.WBXML_TYPE)
    put = [c for c in first.commands if type(c).__name__ == 'Put'][0]
    assert put.meta.type == 'application/vnd.syncml-devinf+xml'
    devinf = put.items[0].data
    assert etree.QName(devinf).namespace == 'syncml:devinf'
    assert devinf.findtext('{syncml:devinf}Mod') == 'SyncEvolution'
    assert any('FN:Zoë Œuvre' in card for card in vcards)
    assert any('FN:李小龙' in card for card in vcards)
