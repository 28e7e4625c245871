"""What a peer may create: reserved ids never, code objects only when the
administrator allows them, only the allowed types when a list is set."""
import pytest
import transaction

from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from synchelpers import folder
from synchelpers import make_sites

pytestmark = pytest.mark.functional

SYNCML = {'Content-Type': 'application/vnd.syncml+xml'}
PERSON = '<object id="%s" portal_type="Person" meta_type="ERP5SyncML Person"></object>'
SCRIPT = ('<object id="%s" portal_type="" meta_type="Script (Python)">'
          '<body type="text">return 42\n</body></object>')
TEMPLATE = '<object id="%s" portal_type="" meta_type="Page Template"></object>'
FOLDER = '<object id="%s" portal_type="" meta_type="Folder"></object>'


def _run_session(zope, pair, session_id, objects):
    """A client session (as the Manager account) that adds ``objects``
    [(id, xml)] on the master."""
    source = 'http://client/%s' % session_id
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    init = codec.encode(m.Message(
        header=m.Header(session_id=session_id, msg_id=1,
                        target=m.Location('http://master'),
                        source=m.Location(source)),
        commands=[m.Alert(cmd_id=1, code=201, items=[m.Item(
            target=m.Location(pair.pub_id), source=m.Location('/x'),
            meta=m.Meta(anchor_next='20260101T000000Z'))])]))
    status, _h, body = zope.http('POST', url, data=init, headers=SYNCML)
    assert status == 200, body[:300]
    data = codec.encode(m.Message(
        header=m.Header(session_id=session_id, msg_id=2,
                        target=m.Location('http://master'),
                        source=m.Location(source)),
        commands=[m.Sync(cmd_id=1, target=m.Location(pair.pub_id),
                         source=m.Location('/x'), commands=[
            m.Add(cmd_id=i + 2, items=[m.Item(source=m.Location(oid),
                                              data=xml % oid)])
            for i, (oid, xml) in enumerate(objects)])]))
    status, _h, body = zope.http('POST', url, data=data, headers=SYNCML)
    assert status == 200, body[:300]
    with zope.app() as app:
        ids = sorted(folder(app, pair.master).objectIds())
        transaction.abort()
    return ids


def _edit_publication(zope, pair, **kw):
    with zope.app() as app:
        app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id).edit(**kw)


@pytest.mark.parametrize('bad_id', ['acl_users', 'index_html', 'REQUEST',
                                    'aq_parent', 'manage_main', '_secret',
                                    'standard_error_message', 'portal_skins'])
def test_reserved_ids_are_refused(zope, bad_id):
    pair = make_sites(zope)
    ids = _run_session(zope, pair, 'ids-' + bad_id.strip('_'),
                       [(bad_id, PERSON), ('fine', PERSON)])
    assert ids == ['fine']


def test_code_objects_need_the_administrators_tick(zope):
    pair = make_sites(zope)
    ids = _run_session(zope, pair, 'code1', [
        ('evil_script', SCRIPT), ('evil_template', TEMPLATE), ('ok', PERSON)])
    assert ids == ['ok']
    _edit_publication(zope, pair, allow_code_objects='yes')
    ids = _run_session(zope, pair, 'code2', [('allowed_script', SCRIPT)])
    assert ids == ['allowed_script', 'ok']


def test_only_the_allowed_types_are_created(zope):
    pair = make_sites(zope)
    _edit_publication(zope, pair, allowed_types='Person')
    ids = _run_session(zope, pair, 'types1', [
        ('a_folder', FOLDER), ('a_person', PERSON)])
    assert ids == ['a_person']
    _edit_publication(zope, pair, allowed_types='Person, Folder')
    ids = _run_session(zope, pair, 'types2', [('a_folder', FOLDER)])
    assert ids == ['a_folder', 'a_person']


def test_master_sends_only_what_the_sync_account_may_view(zope):
    from Products.ERP5SyncML.permissions import Synchronize
    from synchelpers import add_person
    from synchelpers import sync
    pair = make_sites(zope)
    zope.add_user('viewer-syncer', 'viewer-pw', ['Member'])
    with zope.app() as app:
        master = app[pair.master]
        master.manage_permission(Synchronize, ['Manager', 'Member'], acquire=False)
        add_person(app, pair.master, 'public', title='for everyone')
        secret = add_person(app, pair.master, 'secret', title='managers only')
        secret.manage_permission('View', ['Manager'], acquire=False)
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        sub.edit(login='viewer-syncer', password='viewer-pw')
    report = sync(pair)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert sorted(folder(app, pair.client).objectIds()) == ['public']
        transaction.abort()
