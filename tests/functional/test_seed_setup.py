"""The seed's HTTP configuration, as written in the install notes."""
import pytest
from zope.component.hooks import setSite

from synchelpers import Pair
from synchelpers import run_until_done
from synchelpers import csrf_token

pytestmark = pytest.mark.functional


def test_seed_configuration_with_tic_loop(zope):
    for site_id in ('cps', 'cps_client'):
        with zope.app() as app:
            if site_id not in app.objectIds():
                zope.add_site(site_id, demo=True)
    with zope.app() as app:
        master, client = app.cps, app.cps_client
        setSite(master)
        master.portal_synchronizations.manage_addPublication(
            'Repository', publication_url='%s/cps' % zope.url,
            destination_path='/cps/portal_repository', query='objectValues',
            xml_mapping='asXML', gpg_key='')
        setSite(client)
        client.portal_synchronizations.manage_addSubscription(
            'Repository', publication_url='%s/cps' % zope.url,
            subscription_url='%s/cps_client/Repository' % zope.url,
            destination_path='/cps_client/portal_repository', query='objectValues',
            xml_mapping='asXML', gpg_key='', login=zope.user, password=zope.password)
        master_ids = sorted(master.portal_repository.objectIds())
        assert master_ids, 'the demo content of the master is empty'
        setSite(None)
    # the Sync button, over HTTP, as a user would press it
    status, _h, body = zope.http(
        'POST', '/cps_client/portal_synchronizations/manage_syncSubscription',
        data={'id': 'Repository',
              '_authenticator': csrf_token(zope, 'cps_client')})
    assert status in (200, 302), body
    pair = Pair(zope, 'cps', ['cps_client'], 'Repository', 'http')
    report = run_until_done(pair, 'cps_client')
    assert report['status'] == 'finished', report
    with zope.app() as app:
        from Products.ERP5SyncML.mapping import asXML
        for obj_id in master_ids:
            assert asXML(app.cps.portal_repository[obj_id]) == \
                asXML(app.cps_client.portal_repository[obj_id])
    # the object XML is reachable by URL on both sites, identical
    first = master_ids[0]
    s1, _h, x1 = zope.http('GET', '/cps/portal_repository/%s/asXML' % first)
    s2, _h, x2 = zope.http('GET', '/cps_client/portal_repository/%s/asXML' % first)
    assert s1 == s2 == 200 and x1 == x2
