"""portal_mailin's parsing, the mailto: layout and sendMailToZope (no mail server)."""
import base64
import http.server
import io
import os
import subprocess
import sys
import threading

import pytest

from Products.CMFMailIn import parsing
from Products.CMFMailIn import sendMailToZope as smz
from Products.ERP5SyncML.transports import mailto

SYNCML = '<SyncML><SyncHdr/><SyncBody><Final/></SyncBody>été 漢字</SyncML>'.encode()


def test_mailto_layout_round_trips_through_parse():
    raw = mailto.build(SYNCML * 2000, 'cps_server@localhost', 'cps_client@localhost',
                       'Repository', reply_id='Repository client')
    assert max(len(line) for line in raw.split(b'\n')) <= 78  # base64 lines
    raw = b'From cps_client@localhost  Sat Nov 28 01:13:47 2026\n' \
          b'X-Original-To: cps_server@localhost\nDelivered-To: cps_server@localhost\n' + raw
    mail = parsing.parse(raw)
    assert mail['headers']['x-erp5syncml-id'] == 'Repository'
    assert mail['headers']['x-erp5syncml-reply-id'] == 'Repository client'
    assert mail['localpart'] == 'cps_server'
    assert mail['body'].encode('utf-8') == SYNCML * 2000
    assert mail['attachments'] == []


def test_sealed_layout():
    armored = b'-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\n'
    raw = mailto.build(armored, 'a@localhost', 'b@localhost', 'Pub', sealed=True)
    mail = parsing.parse(raw)
    assert mail['headers']['content-type'].startswith('application/pgp-encrypted')
    assert mail['body'].encode() == armored


def test_parse_multipart_with_attachment_and_latin1():
    raw = (b'To: "Client" <cps_client@localhost>\nSubject: =?utf-8?q?caf=C3=A9?=\n'
           b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n'
           b'--XX\nContent-Type: text/plain; charset=iso-8859-1\n\ncaf\xe9\n'
           b'--XX\nContent-Type: application/octet-stream\n'
           b'Content-Disposition: attachment; filename="a.bin"\n'
           b'Content-Transfer-Encoding: base64\n\n' + base64.b64encode(b'\0\1\2') +
           b'\n--XX--\n')
    mail = parsing.parse(raw)
    assert mail['headers']['subject'] == 'café'
    assert mail['body'] == 'café'
    assert mail['attachments'] == [{'filename': 'a.bin', 'content_type':
                                    'application/octet-stream', 'data': b'\0\1\2'}]
    assert mail['localpart'] == 'cps_client'


@pytest.mark.parametrize('raw', [b'', b'   \n', b'no headers at all'])
def test_parse_refuses_non_mail(raw):
    with pytest.raises(parsing.MailError):
        parsing.parse(raw)


@pytest.mark.parametrize('url', ['mailto:a@b.c,evil@x.y', 'mailto:a@b?cc=evil@x.y',
                                 'mailto:"x"<a@b>', 'http://a@b', 'mailto:a@b\r\nBcc: x'])
def test_mailto_refuses_anything_but_one_address(url):
    with pytest.raises(ValueError):
        mailto.address_of(url)


def test_mailto_header_ids_are_checked():
    assert mailto.check_id('Repository') == 'Repository'
    with pytest.raises(ValueError):
        mailto.check_id('a\r\nBcc: evil@x.y')


class Pub:
    def __init__(self, url, allowed=''):
        self.publication_url, self.mail_subscribers = url, allowed

    def getId(self):
        return 'Repository'


def test_mail_subscribers_policy():
    pub = Pub('mailto:cps_server@localhost')
    assert mailto.subscriber_allowed(pub, 'mailto:cps_client@localhost')[0]
    assert not mailto.subscriber_allowed(pub, 'mailto:victim@example.org')[0]
    assert not mailto.subscriber_allowed(Pub('http://master'), 'mailto:c@localhost')[0]
    pub = Pub('mailto:sync@master.example.org', 'c1@client.example.org @branch.example.org')
    assert mailto.subscriber_allowed(pub, 'mailto:c1@client.example.org')[0]
    assert mailto.subscriber_allowed(pub, 'mailto:any@branch.example.org')[0]
    assert not mailto.subscriber_allowed(pub, 'mailto:other@master.example.org')[0]


# -- sendMailToZope against a local HTTP server -------------------------------

class Recorder(http.server.BaseHTTPRequestHandler):
    status = 200
    requests = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        Recorder.requests.append((self.path, self.headers.get('Authorization'), body))
        self.send_response(Recorder.status)
        self.end_headers()
        self.wfile.write(b'refused: no publication Nope on this site')

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(('127.0.0.1', 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Recorder.requests, Recorder.status = [], 200
    try:
        yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def run(args, data=b'To: a@localhost\n\nhello\n'):
    err = io.StringIO()
    code = smz.main(args, stdin=io.BytesIO(data), stderr=err)
    return code, err.getvalue()


def test_posts_with_credentials_from_url(server):
    url = server.replace('http://', 'http://seb:s%40cret@') + '/cps/portal_mailin/'
    assert run([url]) == (0, '')
    path, auth, body = Recorder.requests[0]
    assert path == '/cps/portal_mailin/'
    assert base64.b64decode(auth.split()[1]) == b'seb:s@cret'
    assert body == b'To: a@localhost\n\nhello\n'


def test_credentials_file(server, tmp_path):
    cred = tmp_path / 'cred'
    cred.write_text('zope:pa:ss\n')
    assert run(['--credentials-file', str(cred), server + '/cps/portal_mailin/'])[0] == 0
    assert base64.b64decode(Recorder.requests[0][1].split()[1]) == b'zope:pa:ss'
    pw = tmp_path / 'pw'
    pw.write_text('only-the-password\n')
    assert run(['--password-file', str(pw),
                server.replace('http://', 'http://seb@') + '/x/'])[0] == 0
    assert base64.b64decode(Recorder.requests[1][1].split()[1]) == b'seb:only-the-password'
    code, err = run(['--credentials-file', str(tmp_path / 'missing'), server + '/'])
    assert code == smz.EX_NOINPUT and 'cannot read' in err


@pytest.mark.parametrize('status,code', [(422, 65), (404, 65), (401, 77), (403, 77),
                                         (500, 75), (503, 75)])
def test_exit_codes_and_no_password_on_stderr(server, status, code):
    Recorder.status = status
    got, err = run([server.replace('http://', 'http://seb:topsecret@') + '/cps/portal_mailin/'])
    assert got == code
    assert 'HTTP %d' % status in err and 'topsecret' not in err


def test_zope_down_is_a_temporary_failure():
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    code, err = run(['http://seb:topsecret@127.0.0.1:%d/cps/portal_mailin/' % port])
    assert code == smz.EX_TEMPFAIL
    assert 'cannot reach' in err and 'topsecret' not in err


def test_usage_errors():
    assert run(['ftp://host/x'])[0] == smz.EX_USAGE
    assert run([])[0] == smz.EX_USAGE


def test_runs_standalone_with_plain_python_and_empty_input(server):
    # what the mail server does: the file itself, outside any virtualenv
    script = os.path.join(os.path.dirname(smz.__file__), 'sendMailToZope.py')
    assert os.access(script, os.X_OK)
    proc = subprocess.run(['/usr/bin/env', '-i', 'PATH=/usr/bin:/bin', script,
                           server + '/cps/portal_mailin/'],
                          input=b'To: a@localhost\n\nx\n', capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, script, server + '/'], input=b'',
                          capture_output=True, timeout=60)
    assert proc.returncode == smz.EX_DATAERR and b'no mail' in proc.stderr


def postfix_dsn(returned, returned_type='message/rfc822'):
    """A delivery status notification laid out as Postfix writes one."""
    return (b'From: MAILER-DAEMON@localhost (Mail Delivery System)\n'
            b'Subject: Undelivered Mail Returned to Sender\n'
            b'To: cps_client@localhost\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n'
            b'Content-Type: multipart/report; report-type=delivery-status;\n'
            b'\tboundary="B1"\n\n'
            b'--B1\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n'
            b'I\'m sorry to have to inform you that your message could not\n'
            b'be delivered to one or more recipients.\n\n'
            b'--B1\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n'
            b'Reporting-MTA: dns; localhost\nX-Postfix-Queue-ID: 4Xy\n\n'
            b'Final-Recipient: rfc822; cps_server@localhost\n'
            b'Original-Recipient: rfc822;cps_server@localhost\nAction: failed\n'
            b'Status: 5.3.0\nDiagnostic-Code: x-unix; refused: no publication or\n'
            b'    subscription Nothing on this site\n\n'
            b'--B1\nContent-Description: Undelivered Message\nContent-Type: '
            + returned_type.encode() + b'\n\n' + returned + b'\n--B1--\n')


@pytest.mark.parametrize('returned_type', ['message/rfc822', 'text/rfc822-headers'])
def test_a_delivery_report_names_the_returned_mail_and_the_reason(returned_type):
    sent = mailto.build(SYNCML, 'cps_server@localhost', 'cps_client@localhost',
                        'Nothing', reply_id='Repository', session_id='s-123')
    returned = sent if returned_type == 'message/rfc822' else sent.split(b'\n\n')[0]
    mail = parsing.parse(postfix_dsn(returned, returned_type))
    bounce = mail['bounce']
    assert bounce['action'] == 'failed'
    assert bounce['status'] == '5.3.0'
    assert bounce['recipient'] == 'cps_server@localhost'
    assert bounce['reason'] == 'refused: no publication or subscription Nothing on this site'
    assert bounce['headers']['x-erp5syncml-reply-id'] == 'Repository'
    assert bounce['headers']['x-erp5syncml-session'] == 's-123'
    assert bounce['headers']['x-erp5syncml-id'] == 'Nothing'
    # the notification's own headers name no publication
    assert 'x-erp5syncml-id' not in mail['headers']


def test_an_ordinary_mail_is_no_delivery_report():
    raw = mailto.build(SYNCML, 'cps_server@localhost', 'cps_client@localhost', 'Repository')
    assert parsing.parse(raw)['bounce'] is None
    # a multipart/report of another kind is not a bounce either
    other = postfix_dsn(raw).replace(b'report-type=delivery-status',
                                     b'report-type=disposition-notification')
    assert parsing.parse(other)['bounce'] is None
