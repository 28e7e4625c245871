"""Two sites in one in-process Zope (no server): a master with a
publication and a client with a subscription, and a driver that passes
the engines' messages from one to the other (sans-I/O)."""
import pytest
from zope.component.hooks import setSite

from Products.ERP5SyncML.domain.engine import ClientEngine
from Products.ERP5SyncML.domain.engine import ServerEngine
from Products.ERP5SyncML.site import factory
from Products.ERP5SyncML.site.testing import TestEnvironment
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import codes
from Products.ERP5SyncML.syncml import model as m

FOLDER = 'people'
PUB_URL = 'http://127.0.0.1:9/master'
SUB_URL = 'http://127.0.0.1:9/client/People'


def sync_alert(message):
    for command in message.commands:
        if isinstance(command, m.Alert) and int(command.code) in codes.CLIENT_MODES:
            return command
    return None


class Pair:
    """The master and the client of one publication, in one transaction."""

    def __init__(self, app, sync_mode=200, **extra):
        self.app = app
        self.master = factory.add_site(app, 'master', demo=True, demo_content=False)
        self.client = factory.add_site(app, 'client', demo=True, demo_content=False)
        for site in (self.master, self.client):
            setSite(site)
            site.invokeFactory('Module', FOLDER)
        setSite(None)
        self.pub = self.master.portal_synchronizations.manage_addPublication(
            'People', publication_url=PUB_URL,
            destination_path='/master/%s' % FOLDER, **extra)
        self.sub = self.client.portal_synchronizations.manage_addSubscription(
            'People', publication_url=PUB_URL, subscription_url=SUB_URL,
            destination_path='/client/%s' % FOLDER, sync_mode=sync_mode,
            **extra)
        #: every message exchanged, decoded: [(sender, Message)]
        self.wire = []

    def folder(self, side):
        site = self.master if side == 'master' else self.client
        setSite(site)
        return site[FOLDER]

    def add(self, side, person_id, **props):
        folder = self.folder(side)
        folder.invokeFactory('Person', person_id)
        if props:
            folder[person_id].edit(**props)
        return folder[person_id]

    @property
    def subscriber(self):
        return self.pub.getSubscriber(SUB_URL)

    def client_engine(self):
        return ClientEngine(self.sub)

    def server_engine(self):
        return ServerEngine(self.subscriber)

    def serve(self, data):
        """What the master's entry point does with a client's message."""
        message = codec.decode(data)
        self.wire.append(('client', message))
        alert = sync_alert(message)
        if self.subscriber is None:
            self.pub.addSubscriber(message.header.source.uri)
        reply = self.server_engine().receive(message, alert=alert,
                                             size=len(data))
        if reply is not None:
            self.wire.append(('master', codec.decode(reply)))
        return reply

    def answer(self, reply):
        """What the client does with the master's answer."""
        return self.client_engine().receive(codec.decode(reply),
                                            size=len(reply))

    def sync(self, max_messages=100):
        """A whole session; returns the client's report."""
        data = self.client_engine().start()
        for _ in range(max_messages):
            reply = self.serve(data)
            if reply is None:
                break
            data = self.answer(reply)
            if data is None:
                break
        else:
            raise AssertionError('the session does not end')
        return self.sub.getReport()

    def messages(self, sender):
        return [msg for who, msg in self.wire if who == sender]


@pytest.fixture(scope='module')
def env():
    environment = TestEnvironment()
    environment.setUp()
    yield environment
    environment.tearDown()


@pytest.fixture
def root(env):
    with env.app() as app:
        yield app
        setSite(None)


@pytest.fixture
def pair(root):
    yield Pair(root)
    # the transaction is aborted without a current site
    setSite(None)


# -- whole sessions, engine against engine -----------------------------------

def _alerts(message):
    return [int(c.code) for c in message.commands if isinstance(c, m.Alert)]


def _data_commands(message):
    return [sub for c in message.commands if isinstance(c, m.Sync)
            for sub in c.commands]


def test_first_sync_runs_the_six_packages_and_merges_both_sides(pair):
    pair.add('client', 'c1', title='from the client')
    pair.add('master', 'm1', title='from the master')
    report = pair.sync()
    assert report['status'] == 'finished', report
    client_msgs, master_msgs = pair.messages('client'), pair.messages('master')
    # pkg1: the client asks for a slow sync (nothing agreed yet)
    assert _alerts(client_msgs[0]) == [codes.AlertCode.SLOW]
    # pkg2: header and Alert accepted, mode agreed
    assert master_msgs[0].header_status().code == codes.StatusCode.OK
    assert _alerts(master_msgs[0]) == [codes.AlertCode.SLOW]
    # pkg3 carries the client's object, pkg4 the master's
    assert [type(c).__name__ for c in _data_commands(client_msgs[1])] == ['Add']
    assert [type(c).__name__ for c in _data_commands(master_msgs[1])] == ['Add']
    # pkg5: statuses only; pkg6 ends the session
    assert len(client_msgs) == 3 and len(master_msgs) == 3
    assert not _data_commands(client_msgs[2]) and client_msgs[2].final
    assert all(message.final for message in pair.messages('master'))
    assert sorted(pair.folder('master').objectIds()) == ['c1', 'm1']
    assert sorted(pair.folder('client').objectIds()) == ['c1', 'm1']
    for session in (pair.sub.session, pair.subscriber.session):
        assert session.finished and not session.failed and not session.running
        assert session.state == 'finished' and session.ended is not None
    # the next session is incremental and has nothing to send
    pair.wire = []
    assert pair.sync()['status'] == 'finished'
    assert _alerts(pair.messages('client')[0]) == [codes.AlertCode.TWO_WAY]
    assert not any(_data_commands(msg) for _who, msg in pair.wire)


def test_packages_in_several_messages_are_answered_with_alert_222(root):
    pair = Pair(root, max_objects=1)
    for n in range(3):
        pair.add('client', 'c%d' % n)
        pair.add('master', 'm%d' % n)
    assert pair.sync()['status'] == 'finished'
    client_msgs, master_msgs = pair.messages('client'), pair.messages('master')
    # pkg3: three messages, the last one Final; the master asks for the next
    pkg3 = client_msgs[1:4]
    assert [msg.final for msg in pkg3] == [False, False, True]
    for answer in master_msgs[1:3]:
        assert _alerts(answer) == [codes.AlertCode.NEXT_MESSAGE]
        assert not answer.final and not _data_commands(answer)
    # pkg4: the same the other way round
    pkg4 = master_msgs[3:6]
    assert [msg.final for msg in pkg4] == [False, False, True]
    for answer in client_msgs[4:6]:
        assert _alerts(answer) == [codes.AlertCode.NEXT_MESSAGE]
    assert len(pair.folder('master').objectIds()) == 6
    assert len(pair.folder('client').objectIds()) == 6


def test_an_object_larger_than_a_message_travels_in_chunks(root):
    pair = Pair(root, max_message_size=2048)
    big = 'é' * 3000 + ' the end'
    pair.add('client', 'big', title=big)
    assert pair.sync()['status'] == 'finished'
    items = [item for msg in pair.messages('client')
             for command in _data_commands(msg) for item in command.items]
    assert len(items) >= 3
    assert [item.more_data for item in items][-1] is False
    assert all(item.more_data for item in items[:-1])
    # each chunk is answered 213 until the last one
    chunk_statuses = [s.code for msg in pair.messages('master')
                      for s in msg.statuses() if s.cmd == 'Add']
    assert chunk_statuses.count(codes.StatusCode.CHUNK_ACCEPTED) == len(items) - 1
    assert pair.folder('master')['big'].Title() == big


@pytest.mark.parametrize('mode, removed_on', [(205, 'client'), (203, 'master')])
def test_refresh_removes_what_the_peer_did_not_send(root, mode, removed_on):
    pair = Pair(root, sync_mode=mode)
    pair.add('client', 'c1')
    pair.add('master', 'm1')
    assert pair.sync()['status'] == 'finished'
    kept = 'm1' if mode == 205 else 'c1'
    assert list(pair.folder(removed_on).objectIds()) == [kept]
    assert kept in pair.folder('master').objectIds()
    assert kept in pair.folder('client').objectIds()


def test_messages_fit_the_peer_max_msg_size_statuses_included(root):
    pair = Pair(root)  # the master may send 4 MiB messages...
    pair.sub.max_message_size = 8192  # ...but the client states less
    for n in range(25):
        pair.add('client', 'c%d' % n, title='client %d ' % n + 'x' * 200)
        pair.add('master', 'm%d' % n, title='master %d ' % n + 'y' * 200)
    sizes = []
    serve = pair.serve

    def measured(data):
        reply = serve(data)
        if reply is not None:
            sizes.append(len(reply))
        return reply
    pair.serve = measured
    assert pair.sync()['status'] == 'finished'
    assert pair.client_engine().domain.session.peer_max_msg_size == \
        pair.subscriber.max_message_size
    assert pair.subscriber.session.peer_max_msg_size == 8192
    assert max(sizes) <= 8192, sizes
    master_data = [msg for msg in pair.messages('master') if _data_commands(msg)]
    assert len(master_data) > 2  # 25 objects needed several messages
    assert len(pair.folder('client').objectIds()) == 50
    assert len(pair.folder('master').objectIds()) == 50


def test_the_last_reply_is_kept_compressed_and_given_back_whole(pair):
    pair.add('master', 'm1', title='x' * 5000)
    data = pair.client_engine().start()
    reply = pair.serve(data)
    session = pair.subscriber.session
    assert session.last_reply == reply
    assert len(session._z_last_reply) < len(reply) / 2
    assert pair.client_engine().domain.session.last_sent == data
