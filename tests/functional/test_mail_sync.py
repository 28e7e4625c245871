"""Synchronization over e-mail only, through a real Postfix on 127.0.0.1:
MailHost (SMTP) -> Postfix -> alias pipe -> sendMailToZope.py (as nobody)
-> portal_mailin -> mail_received -> SubSync/PubSync; then the same with
GPG, keys generated in a temporary keyring."""
import html
import time

import pytest
import transaction
from zope.component.hooks import setSite

import gpgkeys
from scripts import mailserver
from synchelpers import add_person
from synchelpers import edit_person
from synchelpers import folder
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import subscription_report

pytestmark = pytest.mark.functional

SESSION_TIMEOUT = 120


@pytest.fixture(scope='module')
def mail(zope):
    if not mailserver.ensure_postfix():
        pytest.skip('Postfix is not installed and cannot be installed (needs root)')
    server = mailserver.MailServer()
    try:
        server.start(zope.user, zope.password)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope='module')
def keyring():
    home = gpgkeys.new_home()
    try:
        fprs = {name: gpgkeys.generate(home, 'Test %s' % name, '%s@test.invalid' % name)
                for name in ('master', 'client', 'intruder')}
        yield home, fprs
    finally:
        gpgkeys.remove_home(home)


def mail_pair(zope, mail, gpg_home=None, master_keys=('', ''), client_keys=('', '')):
    """A master and a client whose URLs are mailto: addresses of the test
    Postfix, which pipes each address into its site's portal_mailin."""
    pair = make_sites(zope)
    master_addr, client_addr = pair.master + '_sync', pair.client + '_sync'
    mail.add_alias(master_addr, '%s/%s/portal_mailin/' % (zope.url, pair.master))
    mail.add_alias(client_addr, '%s/%s/portal_mailin/' % (zope.url, pair.client))
    pub_url = 'mailto:%s@localhost' % master_addr
    with zope.app() as app:
        for site_id in (pair.master, pair.client):
            app[site_id].MailHost.smtp_port = mail.port
            app[site_id].MailHost.smtp_host = '127.0.0.1'
            if gpg_home:
                app[site_id].manage_addProperty('gnupg_home', gpg_home, 'string')
        master_tool = app[pair.master].portal_synchronizations
        master_tool.manage_editPublication(pair.pub_id, publication_url=pub_url)
        app[pair.client].portal_synchronizations.manage_editSubscription(
            pair.pub_id, publication_url=pub_url,
            subscription_url='mailto:%s@localhost' % client_addr)
        if master_keys[0]:
            master_tool.manage_editPublication(
                pair.pub_id, gpg_key=master_keys[0], gpg_peer_key=master_keys[1])
        if client_keys[0]:
            app[pair.client].portal_synchronizations.manage_editSubscription(
                pair.pub_id, gpg_key=client_keys[0], gpg_peer_key=client_keys[1])
    pair.addresses = (master_addr, client_addr)
    return pair


def tic(zope, site_id):
    zope.http('GET', '/%s/portal_activities/distribute?node_count:int=1' % site_id)
    status, _h, body = zope.http('GET', '/%s/portal_activities/tic?processing_node:int=1'
                                 % site_id)
    assert status == 200, body


def wait_session(pair, mail, timeout=SESSION_TIMEOUT):
    """Run both activity queues until the client's session is over; mail
    travels by itself meanwhile."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for site_id in (pair.client, pair.master):
            tic(pair.zope, site_id)
        report = subscription_report(pair, pair.client)
        if report['status'] in ('finished', 'failed'):
            return report
        time.sleep(0.1)
    raise AssertionError('mail session did not finish: %r\nqueue: %s\n%s' % (
        subscription_report(pair, pair.client), mail.queue_ids(), mail.tail_log()))


def press_sync(pair):
    with pair.zope.app() as app:
        setSite(app[pair.client])
        app[pair.client].portal_synchronizations.manage_syncSubscription(pair.pub_id)
        setSite(None)


def mail_sync(pair, mail):
    press_sync(pair)
    return wait_session(pair, mail)


def master_conflicts(pair):
    with pair.zope.app() as app:
        setSite(app[pair.master])
        found = app[pair.master].portal_synchronizations.getConflictList()
        result = [(c.getPropertyId(), c.getPublisherValue(), c.getSubscriberValue())
                  for c in found]
        setSite(None)
        transaction.abort()
    return result


def full_scenario(pair, mail):
    """First sync, two-way updates, deletes, a conflict: all over mail."""
    zope = pair.zope
    with zope.app() as app:
        add_person(app, pair.master, 'm1', title='from master', description='été 漢字')
        add_person(app, pair.master, 'm2', title='to delete')
        add_person(app, pair.client, 'c1', title='from client')
    report = mail_sync(pair, mail)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert sorted(folder(app, pair.client).objectIds()) == ['c1', 'm1', 'm2']
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)
        edit_person(app, pair.master, 'c1', description='edited on master')
        edit_person(app, pair.client, 'm1', language='de')
        folder(app, pair.client).manage_delObjects(['m2'])
    report = mail_sync(pair, mail)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert sorted(folder(app, pair.master).objectIds()) == ['c1', 'm1']
        assert folder(app, pair.client)['c1'].getProperty('description') == 'edited on master'
        assert folder(app, pair.master)['m1'].getProperty('language') == 'de'
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)
        edit_person(app, pair.master, 'm1', description='master value')
        edit_person(app, pair.client, 'm1', description='client value')
    report = mail_sync(pair, mail)
    assert report['status'] == 'finished', report
    assert ('description', 'master value', 'client value') in master_conflicts(pair)
    # the last mail's pipe may still be exiting after Zope committed it
    deadline = time.time() + 30
    while mail.queue_ids() and time.time() < deadline:
        time.sleep(0.1)
    assert mail.queue_ids() == [], mail.tail_log()


def test_full_sync_over_mail(zope, mail):
    pair = mail_pair(zope, mail)
    full_scenario(pair, mail)
    log = mail.log_text()
    # every hop really went through Postfix and the pipe
    assert 'to=<%s@localhost>' % pair.addresses[0] in log
    assert 'to=<%s@localhost>' % pair.addresses[1] in log
    assert 'status=bounced' not in log


def test_full_sync_over_mail_with_gpg(zope, mail, keyring):
    home, _fprs = keyring
    pair = mail_pair(zope, mail, gpg_home=home,
                     master_keys=('master@test.invalid', 'client@test.invalid'),
                     client_keys=('client@test.invalid', 'master@test.invalid'))
    full_scenario(pair, mail)


def test_zope_unreachable_mail_is_retried_and_the_session_completes(zope, mail):
    pair = mail_pair(zope, mail)
    with zope.app() as app:
        add_person(app, pair.master, 'm1', title='m1')
    # the master's mailin URL answers nothing: the pipe exits 75, Postfix defers
    good_url = mail.aliases[pair.addresses[0]]
    mail.add_alias(pair.addresses[0], 'http://127.0.0.1:%d/%s/portal_mailin/'
                   % (mailserver.free_port(), pair.master))
    deferred = mail.log_text().count('status=deferred')
    press_sync(pair)
    tic(zope, pair.client)
    deadline = time.time() + 60
    while mail.log_text().count('status=deferred') == deferred and time.time() < deadline:
        time.sleep(0.1)
    assert mail.log_text().count('status=deferred') > deferred, mail.tail_log()
    assert 'EX_TEMPFAIL' in mail.log_text() or 'cannot reach' in mail.log_text()
    assert mail.queue_ids(), 'the mail must wait in the queue'
    with zope.app() as app:
        assert app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id).getSubscriberList() == []
    mail.add_alias(pair.addresses[0], good_url)  # Zope is back
    mail.flush()
    report = wait_session(pair, mail)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert sorted(folder(app, pair.client).objectIds()) == ['m1']


def send_raw(mail, to, raw):
    import smtplib
    with smtplib.SMTP('127.0.0.1', mail.port, timeout=30) as smtp:
        smtp.sendmail('tester@localhost', [to], raw)


def wait_log(mail, text, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in mail.log_text():
            return
        time.sleep(0.1)
    raise AssertionError('%r not in the mail log:\n%s' % (text, mail.tail_log()))


def test_refused_mail_bounces_and_changes_nothing(zope, mail):
    pair = mail_pair(zope, mail)
    raw = (b'From: tester@localhost\r\nTo: %s@localhost\r\nSubject: x\r\n'
           b'X-ERP5SyncML-Id: NoSuchPublication\r\n\r\n<SyncML/>\r\n'
           % pair.addresses[0].encode())
    send_raw(mail, pair.addresses[0] + '@localhost', raw)
    wait_log(mail, 'status=bounced')
    assert 'no publication or subscription NoSuchPublication' in mail.log_text()
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        assert pub.getSubscriberList() == []


def test_a_bounce_fails_the_client_session_with_the_mail_servers_reason(zope, mail):
    """The master refuses the client's mail (it names no publication there):
    Postfix returns it to the client's address, whose portal_mailin
    recognises the delivery report and fails the session, saying why."""
    pair = mail_pair(zope, mail)
    with zope.app() as app:
        add_person(app, pair.client, 'c1', title='from client')
        app[pair.client].portal_synchronizations.manage_editSubscription(
            pair.pub_id, target_database='NoSuchPublication')
    report = mail_sync(pair, mail)
    assert report['status'] == 'failed', report
    assert 'the mail to %s@localhost bounced' % pair.addresses[0] in report['reason']
    assert 'no publication or subscription NoSuchPublication' in report['reason']
    assert 'status=bounced' in mail.log_text()
    with zope.app() as app:
        assert app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id).getSubscriberList() == []
        transaction.abort()
    # the report came to the client's own address, through its pipe;
    # Postfix logs the delivery once the pipe has exited, after Zope
    # committed what it did
    line = 'to=<%s@localhost>' % pair.addresses[1]
    deadline = time.monotonic() + 30
    while line not in mail.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert line in mail.log_text()


def test_tampered_and_wrong_key_messages_are_refused(zope, mail, keyring):
    """Messages that do not pass GPG checks change nothing and are recorded
    on the publication."""
    from Products.ERP5SyncML.transports import gpg
    from Products.ERP5SyncML.transports import mailto
    home, _fprs = keyring
    pair = mail_pair(zope, mail, gpg_home=home,
                     master_keys=('master@test.invalid', 'client@test.invalid'),
                     client_keys=('client@test.invalid', 'master@test.invalid'))
    with zope.app() as app:
        add_person(app, pair.client, 'c1', title='from client')
    # the client's real first message, captured instead of sent
    with zope.app() as app:
        setSite(app[pair.client])
        plain = app[pair.client].portal_synchronizations.SubSync(pair.pub_id)
        setSite(None)
    to = pair.addresses[0] + '@localhost'
    cases = {
        'tampered': _tamper(gpg.seal(plain, 'client@test.invalid', 'master@test.invalid',
                                     home=home)),
        'wrong key': gpg.seal(plain, 'intruder@test.invalid', 'master@test.invalid',
                              home=home),
        'plain': plain,
    }
    for name, body in cases.items():
        raw = mailto.build(body, to, 'x@localhost', pair.pub_id, reply_id=pair.pub_id,
                           sealed=gpg.is_sealed(body))
        before = mail.log_text().count('status=sent')
        send_raw(mail, to, raw)
        deadline = time.time() + 60
        while mail.log_text().count('status=sent') == before and time.time() < deadline:
            time.sleep(0.1)
        with zope.app() as app:
            pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
            report = pub.getReport()
            assert report['status'] == 'refused', (name, report, mail.tail_log())
            assert 'refused' in report['reason'], name
            assert pub.getSubscriberList() == [], name
            assert list(folder(app, pair.master).objectIds()) == [], name
            # nothing answered: no activity queued to send a reply
            assert len(app[pair.master].portal_activities._getStore()) == 0, name
            pub.setReport('never run')


def _tamper(armored):
    lines = armored.split(b'\n')
    body = [i for i, line in enumerate(lines) if len(line) > 40]
    i = body[len(body) // 2]
    line = bytearray(lines[i])
    line[5] = ord('A') if line[5] != ord('A') else ord('B')
    lines[i] = bytes(line)
    return b'\n'.join(lines)


def test_gpg_over_http(zope, keyring):
    from synchelpers import sync
    home, _fprs = keyring
    pair = make_sites(zope)
    with zope.app() as app:
        for site_id in (pair.master, pair.client):
            app[site_id].manage_addProperty('gnupg_home', home, 'string')
        add_person(app, pair.master, 'm1', title='été')
        app[pair.master].portal_synchronizations.manage_editPublication(
            pair.pub_id, gpg_key='master@test.invalid', gpg_peer_key='client@test.invalid')
        app[pair.client].portal_synchronizations.manage_editSubscription(
            pair.pub_id, gpg_key='client@test.invalid', gpg_peer_key='master@test.invalid')
    report = sync(pair)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)
    # a plain message to the GPG publication is refused with HTTP 403
    status, _h, body = zope.http('POST', '/%s/portal_synchronizations/readResponse'
                                 % pair.master, data=b'<SyncML/>',
                                 headers={'Content-Type': 'application/vnd.syncml+xml'})
    assert status in (400, 403), body
    # a client sealing for the wrong key: the master refuses it, both say why
    with zope.app() as app:
        app[pair.client].portal_synchronizations.manage_editSubscription(
            pair.pub_id, gpg_peer_key='intruder@test.invalid')
    report = sync(pair)
    assert report['status'] == 'failed', report
    assert 'encrypted for another key' in report['reason'], report
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        assert pub.getReport()['status'] == 'refused'
        reason = pub.getReport()['reason']
        transaction.abort()
    # the Publications tab shows it
    status, _h, body = zope.http('GET', '/%s/portal_synchronizations/managePublications'
                                 % pair.master)
    assert status == 200
    assert 'Last error:' in body.decode() and html.escape(reason, quote=False) in body.decode()
