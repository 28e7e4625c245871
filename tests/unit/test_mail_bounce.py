"""A bounce of a client's mail (delivery.bounced, as mail_received calls it
through SubSync): it fails the session it names, with the mail server's
reason; one about another session, or forged without the session id,
changes nothing."""
from Products.ERP5SyncML.domain import delivery
from test_engine_pair import Pair, env, pair, root  # noqa: F401


def _report(session_id, action='failed'):
    return {'action': action, 'status': '5.3.0', 'recipient': 'cps_server@localhost',
            'reason': 'refused: no publication or subscription X on this site',
            'headers': {'x-erp5syncml-reply-id': 'Repository',
                        'x-erp5syncml-session': session_id}}


def test_a_bounce_of_the_running_session_fails_it_with_the_reason(pair):
    pair.client_engine().start()
    session = pair.sub.session
    assert session.running
    reason = pair.client.portal_synchronizations.SubSync(
        pair.sub.getId(), bounce=_report(session.session_id))
    assert not pair.sub.session.running
    report = pair.sub.getReport()
    assert report['status'] == 'failed'
    assert report['reason'] == reason == (
        'the mail to cps_server@localhost bounced: refused: no publication or '
        'subscription X on this site')


def test_other_or_forged_bounces_change_nothing(pair):
    pair.client_engine().start()
    session = pair.sub.session
    before = dict(pair.sub.getReport())
    for report in (_report('another-session'), _report(None),
                   _report(session.session_id, action='delayed'),
                   {'action': 'failed', 'headers': {}}):
        assert delivery.bounced(pair.sub, report) is None
        assert pair.sub.session.running
        assert pair.sub.getReport() == before
