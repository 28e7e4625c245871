"""An administrator's tour of the ZMI in Chromium: add two ERP5SyncML
Sites, a publication and a subscription through the forms, press Sync and
watch the Overview's progress bar reach the end while the tic loop runs,
read the report, make a conflict, look at its diff, resolve it, and check
each object's Sync tab."""
import threading

import pytest
from playwright.sync_api import expect
from zope.component.hooks import setSite

from Products.CMFActivity.ticloop import TicLoop

pytestmark = pytest.mark.functional

FOLDER = 'portal_repository'


def add_site_through_zmi(page, zope, site_id, demo_content):
    page.goto(zope.url + '/manage_main')
    # the ZMI's add menu opens the add form (in a modal dialog or a page)
    page.locator('select.qs-select, select[name=":action"]').first.select_option(
        label='ERP5SyncML Site')
    page.wait_for_selector('form.zmi-add #demo')
    page.fill('#id', site_id)
    page.fill('#title', 'Site %s' % site_id)
    page.check('#demo')
    if demo_content:
        page.check('#demo_content')
    page.shots('add-site-%s' % site_id)
    page.locator('form.zmi-add input[type=submit][value="Add"]').click()
    page.wait_for_load_state()
    assert page.locator('a[href*="%s"]' % site_id).count(), page.content()


def tool_url(zope, site_id):
    return '%s/%s/portal_synchronizations' % (zope.url, site_id)


def fill(page, values):
    for name, value in values.items():
        page.fill('#field-%s' % name, value)


@pytest.fixture
def tic_loop(zope):
    """The tic loop of the deployed set-up, on both sites, in a thread."""
    loops = []

    def start(*sites):
        loop = TicLoop(zope.url, sites, zope.user, zope.password, interval=0.2)
        thread = threading.Thread(target=loop.run, daemon=True)
        thread.start()
        loops.append((loop, thread))
        return loop
    yield start
    for loop, thread in loops:
        loop.stop()
        thread.join(30)


def edit(zope, site_id, object_id, **props):
    with zope.app() as app:
        setSite(app[site_id])
        app[site_id][FOLDER][object_id].edit(**props)
        setSite(None)


def test_administrator_tour(page, zope, tic_loop):
    master, client = zope.new_site_id('bmaster'), zope.new_site_id('bclient')
    shots = page.shots

    # 1. two ERP5SyncML Sites through the ZMI's add menu
    add_site_through_zmi(page, zope, master, demo_content=True)
    add_site_through_zmi(page, zope, client, demo_content=False)

    # 2. a publication on the master, through its own form; bad values first
    page.goto(tool_url(zope, master) + '/manage_overview')
    page.click('#add-publication')
    expect(page.locator('#tabs_items .nav-link.active')).to_have_text('Publications')
    publication = {'id': 'People', 'publication_url': '%s/%s' % (zope.url, master),
                   'destination_path': '/%s/%s' % (master, FOLDER)}
    fill(page, dict(publication, destination_path='/%s/nowhere' % master,
                    max_objects='many'))
    shots('publication-form-bad-values')
    page.click('#save')
    expect(page.locator('#form-errors')).to_be_visible()
    expect(page.locator('#error-destination_path')).to_have_text(
        'no such folder: /%s/nowhere' % master)
    expect(page.locator('#error-max_objects')).to_have_text('a whole number, please')
    # the values are kept
    expect(page.locator('#field-id')).to_have_value('People')
    expect(page.locator('#field-max_objects')).to_have_value('many')
    shots('publication-validation-errors')
    fill(page, dict(publication, max_objects='2'))
    page.click('#save')
    expect(page.locator('body')).to_contain_text('Publication People added')
    shots('publication-added')

    # 3. the subscription on the client (2 objects per message: several
    # rounds); Test connection first
    page.goto(tool_url(zope, client) + '/manage_overview')
    page.click('#add-subscription')
    expect(page.locator('#tabs_items .nav-link.active')).to_have_text('Subscriptions')
    subscription = {
        'id': 'People', 'publication_url': '%s/%s' % (zope.url, master),
        'subscription_url': '%s/%s/People' % (zope.url, client),
        'destination_path': '/%s/%s' % (client, FOLDER),
        'max_objects': '2', 'login': zope.user, 'password': 'wrong'}
    fill(page, subscription)
    page.click('#test-connection')
    expect(page.locator('#connection-test')).to_contain_text('refused the login')
    shots('test-connection-wrong-password')
    fill(page, dict(subscription, password=zope.password))
    page.click('#test-connection')
    expect(page.locator('#connection-test .list-group-item-danger')).to_have_count(0)
    expect(page.locator('#connection-test')).to_contain_text(
        'The master offers the publication People.')
    shots('test-connection-ok')
    with zope.app() as app:  # the handshake changed nothing on the master
        pub = app[master].portal_synchronizations.getPublication('People')
        assert pub.getSubscriberList() == []
        assert app[client].portal_synchronizations.getSubscription('People') is None
    fill(page, dict(subscription, password=zope.password))
    page.click('#save')
    expect(page.locator('body')).to_contain_text('Subscription People added')
    shots('subscription-added')

    # 4. Sync on the Overview: the queue is not running yet, the page says so
    page.goto(tool_url(zope, client) + '/manage_overview')
    expect(page.locator('#tabs_items .nav-link.active')).to_have_text('Overview')
    row = page.locator('#sync-overview tr[data-key="subscription||People"]')
    expect(row.locator('.st-state')).to_have_text('never run')
    row.locator('.st-sync').click()
    expect(page.locator('body')).to_contain_text('Synchronization of People started')
    expect(row.locator('.st-state')).to_have_text('running')
    expect(row.locator('.st-phase')).to_contain_text('is the tic loop running?')
    expect(page.locator('#queue-health')).to_contain_text('not running')
    shots('sync-pressed-queue-stopped')

    # the tic loop starts: the page follows without being reloaded
    page.evaluate('window.__not_reloaded = true')
    tic_loop(master, client)
    expect(row.locator('.st-state')).to_have_text('finished', timeout=60000)
    assert page.evaluate('window.__not_reloaded') is True
    with zope.app() as app:
        moved = len(app[master][FOLDER].objectIds())
    expect(row.locator('.st-progress')).to_have_text('%d / %d' % (moved, moved))
    width = row.locator('.progress-bar').evaluate('e => e.style.width')
    assert width == '100%'
    expect(page.locator('#queue-health')).not_to_contain_text('not running')
    shots('sync-finished')

    # 5. the report
    row.locator('a', has_text='Report').click()
    expect(page.locator('#tabs_items .nav-link.active')).to_have_text('Overview')
    received = page.locator('#report-moved tr', has_text='from the master')
    expect(received.locator('td').first.locator('.count')).to_have_text(str(moved))
    links = received.locator('td').first.locator('a')
    expect(links).to_have_count(moved)
    shots('report')
    links.filter(has_text='p2').click()
    expect(page.locator('.sync-state')).to_have_text('synchronized')

    # 6. per-object state on the client: synchronized, then changed here
    page.goto('%s/%s/%s/p2/@@sync-state' % (zope.url, client, FOLDER))
    expect(page.locator('#tabs_items .nav-link.active')).to_have_text('Sync')
    expect(page.locator('.sync-state')).to_have_text('synchronized')
    edit(zope, client, 'p2', email='john@client.example')
    page.reload()
    expect(page.locator('.sync-state')).to_have_text('changed here')
    changed = page.locator('.sync-diff tr.changed')
    expect(changed).to_have_count(1)
    expect(changed.locator('td.name')).to_have_text('email')
    expect(changed).to_contain_text('john@client.example')
    shots('object-changed-here')

    # 7. a conflict: the same property changed on both sites, then Sync
    edit(zope, master, 'p2', email='john@master.example')
    page.goto(tool_url(zope, client) + '/manage_overview')
    row.locator('.st-sync').click()
    expect(row.locator('.st-state')).to_have_text('finished', timeout=60000)
    expect(row.locator('.st-conflicts')).to_have_text('1')
    shots('sync-with-conflict')
    page.goto(tool_url(zope, client) + '/manageConflicts')
    expect(page.locator('#tabs_items .nav-link.active')).to_have_text('Conflicts')
    expect(page.locator('#client-conflicts tbody tr')).to_have_count(1)
    shots('client-conflicts-tab')

    page.goto(tool_url(zope, master) + '/manageConflicts')
    expect(page.locator('#tabs_items .nav-link.active')).to_have_text('Conflicts')
    page.locator('a', has_text='diff').first.click()
    peer = page.locator('.sync-peer').first
    expect(peer.locator('.sync-state')).to_have_text('conflict')
    changed = peer.locator('.sync-diff tr.changed')
    expect(changed).to_have_count(1)
    expect(changed.locator('td').nth(1)).to_contain_text('john@master.example')
    expect(changed.locator('td').nth(2)).to_contain_text('john@client.example')
    shots('conflict-diff')

    # resolve it with the client's value, then sync: both sites agree
    page.locator('form', has_text='email').locator('button', has_text='client value').click()
    expect(page.locator('body')).to_contain_text('Conflict resolved')
    shots('conflict-resolved')
    page.goto(tool_url(zope, client) + '/manage_overview')
    row.locator('.st-sync').click()
    expect(row.locator('.st-state')).to_have_text('finished', timeout=60000)
    expect(row.locator('.st-conflicts')).to_have_text('0')
    for site_id in (master, client):
        page.goto('%s/%s/%s/p2/@@sync-state' % (zope.url, site_id, FOLDER))
        expect(page.locator('.sync-state')).to_have_text('synchronized')
        expect(page.locator('.sync-diff')).to_have_count(0)
        shots('object-state-%s' % site_id)
    with zope.app() as app:
        assert app[master][FOLDER]['p2'].email == 'john@client.example'
        assert app[client][FOLDER]['p2'].email == 'john@client.example'

    # 8. Reset and Delete ask first; Cancel changes nothing
    page.goto(tool_url(zope, client) + '/manage_overview')
    row.locator('.st-edit').click()
    page.click('#reset')
    expect(page.locator('#confirm-box')).to_contain_text('slow sync')
    shots('reset-confirmation')
    page.locator('#confirm-box a', has_text='Cancel').click()
    with zope.app() as app:
        assert len(app[client].portal_synchronizations
                   .getSubscription('People').signatures) == moved
    page.click('#delete')
    expect(page.locator('#confirm-box')).to_contain_text('Delete')
    shots('delete-confirmation')
    page.click('#confirm-yes')
    expect(page.locator('body')).to_contain_text('Subscription People deleted')
    expect(page.locator('#sync-overview tr[data-key]')).to_have_count(0)
    shots('subscription-deleted')
