"""Test connection: the DevInf handshake with a real master over HTTP
finds what is right and what is wrong, and changes nothing on either side."""
import pytest
from zope.component.hooks import setSite

from Products.ERP5SyncML.domain import probe
from scripts.instance import free_port

from synchelpers import make_sites

pytestmark = pytest.mark.functional


def findings(zope, pair, **changes):
    with zope.app() as app:
        setSite(app[pair.client])
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        for name, value in changes.items():
            setattr(sub, name, value)
        result = probe.test_connection(sub)
        assert sub.session is None  # nothing started here
        setSite(None)
        import transaction
        transaction.abort()  # the changed settings were only for this probe
    return result


def master_unchanged(zope, pair):
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        return pub.getSubscriberList() == [] and pub.session is None


def test_a_right_configuration_is_confirmed_and_nothing_changes(zope):
    pair = make_sites(zope)
    result = findings(zope, pair)
    assert all(ok for ok, _ in result), result
    texts = ' '.join(t for _, t in result)
    assert 'SyncML 1.2' in texts and 'login was accepted' in texts
    assert 'offers the publication %s' % pair.pub_id in texts
    assert master_unchanged(zope, pair)


@pytest.mark.parametrize('changes, expected', [
    ({'password': 'wrong'}, 'refused the login'),
    ({'target_database': 'Nope'}, 'offers no publication Nope'),
    ({'publication_url': 'ftp://127.0.0.1/x'}, 'not usable'),
    ({'publication_url': 'http://127.0.0.1:%d/master' % free_port()}, 'could not be reached'),
])
def test_what_is_wrong_is_said(zope, changes, expected):
    pair = make_sites(zope)
    result = findings(zope, pair, **changes)
    assert not result[-1][0] and expected in result[-1][1], result
    assert master_unchanged(zope, pair)
