"""The demo's synchronization: the install notes' publication and
subscription, then a sync, an edit on each site, and a second sync.

``configure`` runs in the set-up process (it holds the database);
``scenario`` runs over HTTP while Zope and the tic loop are up, exactly as a
user would press Sync in the ZMI.
"""
import base64
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

PUBLICATION = 'Repository'
FOLDER = 'portal_repository'


#: the install notes' addresses of the sites when they sync by mail
MAIL_ADDRESSES = {'cps': 'cps_server', 'cps_client': 'cps_client'}


def configure(app, url, user, password, smtp_port=None):
    """Add (or update) the seed's publication on cps and subscription on
    cps_client, with ``url`` as the Zope address (e.g. http://localhost:9673).
    ``smtp_port``: they sync by mail instead, through the mail server on
    127.0.0.1:smtp_port (the install notes' mailto: URLs)."""
    from zope.component.hooks import setSite
    master, client = app.cps, app.cps_client
    master_url = '%s/cps' % url
    client_url = '%s/cps_client/%s' % (url, PUBLICATION)
    if smtp_port:
        master_url, client_url = ('mailto:%s@localhost' % MAIL_ADDRESSES[s]
                                  for s in ('cps', 'cps_client'))
        for site in (master, client):
            site.MailHost.smtp_host, site.MailHost.smtp_port = '127.0.0.1', smtp_port
    publication = dict(publication_url=master_url,
                       destination_path='/cps/%s' % FOLDER)
    subscription = dict(publication_url=master_url, subscription_url=client_url,
                        destination_path='/cps_client/%s' % FOLDER,
                        login=user, password=password)
    setSite(master)
    tool = master.portal_synchronizations
    if tool.getPublication(PUBLICATION) is None:
        tool.manage_addPublication(PUBLICATION, **publication)
        print('  publication %s on cps: %s' % (PUBLICATION, publication))
    else:
        tool.manage_editPublication(PUBLICATION, **publication)
    setSite(client)
    tool = client.portal_synchronizations
    if tool.getSubscription(PUBLICATION) is None:
        tool.manage_addSubscription(PUBLICATION, **subscription)
        shown = dict(subscription, password='*' * 8)
        print('  subscription %s on cps_client: %s' % (PUBLICATION, shown))
    else:
        tool.manage_editSubscription(PUBLICATION, **subscription)
    setSite(None)


class Client:
    """Tiny HTTP client with basic auth (the password is never printed)."""

    def __init__(self, url, user, password):
        self.url = url
        token = base64.b64encode(('%s:%s' % (user, password)).encode()).decode()
        self.headers = {'Authorization': 'Basic ' + token}

    def call(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.url + path, data=body,
                                         headers=self.headers)
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()


def wait_for(client, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        report = json.loads(client.call(
            '/cps_client/portal_synchronizations/getSyncReport?id=' + PUBLICATION))
        if report['status'] in ('finished', 'failed'):
            return report
        time.sleep(0.5)
    raise RuntimeError('the synchronization did not finish in %ds: is the tic '
                       'loop running?' % timeout)


def form_token(client, page):
    """The ``_authenticator`` token of the forms of ``page``, as a browser
    gets it (state changes want it)."""
    match = re.search(r'name="_authenticator"\s+value="([0-9a-f]+)"',
                      client.call(page).decode('utf-8'))
    if match is None:
        raise RuntimeError('no form token in %s' % page)
    return match.group(1)


def sync(client, timeout=180):
    tool = '/cps_client/portal_synchronizations'
    token = form_token(client, tool + '/manageSubscriptions')
    client.call(tool + '/manage_syncSubscription',
                {'id': PUBLICATION, '_authenticator': token})
    return wait_for(client, timeout)


def moved(report):
    counts = report.get('counts') or {}

    def three(prefix):
        return ', '.join('%d %s' % (counts.get(prefix + k, 0), label) for k, label in (
            ('add', 'added'), ('replace', 'changed'), ('delete', 'deleted')))
    return 'to the master: %s; from the master: %s; %s messages, %s bytes sent, ' \
        '%s received' % (three('sent_'), three('received_'),
                         counts.get('messages_sent', 0), counts.get('bytes_sent', 0),
                         counts.get('bytes_received', 0))


def listing(client, site):
    text = client.call('/%s/%s' % (site, FOLDER)).decode()
    return sorted(line for line in text.splitlines() if line.strip())


def scenario(url, user, password, out=print, by=None):
    """Sync, edit on both sites, sync again; print what moved. Returns 0
    when both sites end with identical objects. ``by``: how the messages
    travel, when not over HTTP (e.g. 'mail')."""
    client = Client(url, user, password)
    out('Synchronization demo over %s (the tic loop sends the messages):'
        % (by or 'HTTP'))
    report = sync(client)
    out('  1st sync of cps_client: %s -- %s' % (report['status'], moved(report)))
    if report['status'] != 'finished':
        out('  reason: %s' % report['reason'])
        return 1
    ids = listing(client, 'cps')
    if not ids:
        out('  the master has no objects in %s' % FOLDER)
        return 1
    stamp = time.strftime('%H:%M:%S')
    client.call('/cps_client/%s/%s/manage_changeProperties' % (FOLDER, ids[0]),
                {'description': 'Edited on the client at %s' % stamp})
    out('  edited %s on cps_client (description)' % ids[0])
    if len(ids) > 1:
        client.call('/cps/%s/%s/manage_changeProperties' % (FOLDER, ids[-1]),
                    {'language': 'de'})
        out('  edited %s on cps (language)' % ids[-1])
    report = sync(client)
    out('  2nd sync of cps_client: %s -- %s' % (report['status'], moved(report)))
    same = all(
        client.call('/cps/%s/%s/asXML' % (FOLDER, i)) ==
        client.call('/cps_client/%s/%s/asXML' % (FOLDER, i)) for i in ids)
    out('  %d objects, asXML identical on both sites: %s' % (len(ids), same))
    return 0 if same and listing(client, 'cps_client') == ids else 1
