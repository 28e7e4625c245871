"""Set up and inspect one site database from outside its Zope process.

Runs as a subprocess of the fault tests: configures Zope from a zope.conf
(a ZEO client of the same database as the Zope server), then answers JSON
commands, one per line on stdin, with one ``CTL <json>`` line on stdout.
"""
import json
import sys
import traceback
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

FOLDER = 'people'


def add_user(app, name, password):
    from scripts import instance
    instance.add_manager(app, name, password, ['Manager'])


def add_site(app, site_id):
    from Products.ERP5SyncML.site.factory import add_site as factory
    from zope.component.hooks import setSite
    factory(app, site_id, site_id, demo=True)
    setSite(app[site_id])
    app[site_id].invokeFactory('Module', FOLDER)


def add_people(app, site_id, prefix, count):
    from zope.component.hooks import setSite
    setSite(app[site_id])
    folder = app[site_id][FOLDER]
    for i in range(count):
        folder.invokeFactory('Person', '%s%d' % (prefix, i))
        folder['%s%d' % (prefix, i)].edit(title='%s number %d' % (prefix, i))


def add_publication(app, site_id, pub_id, url, **kw):
    from zope.component.hooks import setSite
    setSite(app[site_id])
    app[site_id].portal_synchronizations.manage_addPublication(
        pub_id, publication_url=url,
        destination_path='/%s/%s' % (site_id, FOLDER), **kw)


def add_subscription(app, site_id, pub_id, publication_url,
                     subscription_url, login, password, **kw):
    from zope.component.hooks import setSite
    setSite(app[site_id])
    app[site_id].portal_synchronizations.manage_addSubscription(
        pub_id, publication_url=publication_url,
        subscription_url=subscription_url,
        destination_path='/%s/%s' % (site_id, FOLDER),
        login=login, password=password, **kw)


def dump(app, site_id):
    """{id: asXML} of the synchronized folder."""
    from Products.ERP5SyncML.mapping import asXML
    from zope.component.hooks import setSite
    setSite(app[site_id])
    folder = app[site_id][FOLDER]
    return {o.getId(): asXML(o) for o in folder.objectValues()}


def edit_titles(app, site_id, ids, text):
    """Give each object of ``ids`` the title ``text`` (as a user would)."""
    from zope.component.hooks import setSite
    setSite(app[site_id])
    folder = app[site_id][FOLDER]
    for object_id in ids:
        folder[object_id].edit(title=text)


def conflicts(app, site_id):
    tool = app[site_id].portal_synchronizations
    return sum(p.getConflictCount() for p in tool.getPublicationList()) + \
        sum(s.getConflictCount() for s in tool.getSubscriptionList())


def activities(app, site_id):
    return [m.info() for m in
            app[site_id].portal_activities.getMessageList()]


COMMANDS = {f.__name__: f for f in (add_user, add_site, add_people,
                                    add_publication, add_subscription,
                                    dump, activities, edit_titles,
                                    conflicts)}


def main(zope_conf):
    import transaction
    import Zope2
    from AccessControl.SecurityManagement import newSecurityManager
    from AccessControl.users import system
    from Testing.makerequest import makerequest
    from zope.component.hooks import setSite
    from scripts import instance
    instance.configure_zope(zope_conf)
    out = sys.stdout
    print('CTL "ready"', file=out, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        conn = Zope2.DB.open()
        try:
            transaction.begin()
            app = makerequest(conn.root()['Application'])
            newSecurityManager(None, system)
            result = COMMANDS[command['cmd']](app, **command.get('args', {}))
            transaction.commit()
            answer = {'ok': result}
        except Exception:
            transaction.abort()
            answer = {'error': traceback.format_exc()}
        finally:
            setSite(None)
            conn.close()
        print('CTL ' + json.dumps(answer, default=repr), file=out, flush=True)


if __name__ == '__main__':
    main(sys.argv[1])
