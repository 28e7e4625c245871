"""GPG sealing with the real gpg and a temporary keyring (no Zope)."""
import pytest

import gpgkeys
from Products.ERP5SyncML.transports import gpg

MESSAGE = '<SyncML><SyncHdr>été 漢字 ]]&gt;</SyncHdr></SyncML>'.encode('utf-8') * 50


@pytest.fixture(scope='module')
def keyrings():
    """Two sites' keyrings: each has its own secret key and the other's
    public key; mallory's key is unknown to the master, eve's is known
    to it but is not the peer's."""
    homes = {name: gpgkeys.new_home() for name in ('master', 'client', 'mallory', 'eve')}
    try:
        for name, home in homes.items():
            gpgkeys.generate(home, 'Test %s' % name, '%s@test.invalid' % name)
        for a, b in (('master', 'client'), ('client', 'master'), ('eve', 'master'),
                     ('master', 'mallory'), ('master', 'eve')):
            gpgkeys.import_keys(homes[b], gpgkeys.export_public(homes[a], '%s@test.invalid' % a))
        yield homes
    finally:
        for home in homes.values():
            gpgkeys.remove_home(home)


def seal_as(keyrings, who, to, data=MESSAGE):
    return gpg.seal(data, '%s@test.invalid' % who, '%s@test.invalid' % to,
                    home=keyrings[who])


def open_as(keyrings, who, peer, data):
    return gpg.open_sealed(data, '%s@test.invalid' % who, '%s@test.invalid' % peer,
                           home=keyrings[who])


def test_round_trip_signed_and_encrypted(keyrings):
    sealed = seal_as(keyrings, 'client', 'master')
    assert gpg.is_sealed(sealed)
    assert 'été'.encode() not in sealed and b'SyncHdr' not in sealed
    assert open_as(keyrings, 'master', 'client', sealed) == MESSAGE


def test_plain_message_refused(keyrings):
    with pytest.raises(gpg.GPGError, match='not GPG encrypted'):
        open_as(keyrings, 'master', 'client', MESSAGE)


def test_signed_by_unknown_key_refused(keyrings):
    sealed = seal_as(keyrings, 'mallory', 'master')
    with pytest.raises(gpg.GPGError, match='unknown key'):
        open_as(keyrings, 'master', 'client', sealed)


def test_signed_by_another_known_key_refused(keyrings):
    # the master knows eve's public key, but its peer is the client
    sealed = seal_as(keyrings, 'eve', 'master')
    with pytest.raises(gpg.GPGError, match='not by the peer key'):
        open_as(keyrings, 'master', 'client', sealed)
    assert open_as(keyrings, 'master', 'eve', sealed) == MESSAGE


def test_encrypted_for_another_key_refused(keyrings):
    sealed = seal_as(keyrings, 'master', 'client')
    # the master cannot open what it sealed for the client
    with pytest.raises(gpg.GPGError, match='cannot decrypt'):
        open_as(keyrings, 'master', 'client', sealed)


def test_tampered_message_refused(keyrings):
    sealed = seal_as(keyrings, 'client', 'master')
    lines = sealed.split(b'\n')
    body = [i for i, line in enumerate(lines) if len(line) > 40]
    i = body[len(body) // 2]
    line = bytearray(lines[i])
    line[10] = ord('A') if line[10] != ord('A') else ord('B')
    lines[i] = bytes(line)
    with pytest.raises(gpg.GPGError, match='refused'):
        open_as(keyrings, 'master', 'client', b'\n'.join(lines))


def test_unsigned_encrypted_message_refused(keyrings):
    home = keyrings['client']
    out = gpgkeys.gpg(home, '--armor', '--trust-model', 'always', '--encrypt',
                      '--recipient', 'master@test.invalid', input=MESSAGE).stdout
    with pytest.raises(gpg.GPGError, match='not signed'):
        open_as(keyrings, 'master', 'client', out)


def test_config_checks(keyrings):
    home = keyrings['master']
    gpg.check_config('', '', home=home)
    gpg.check_config('master@test.invalid', 'client@test.invalid', home=home)
    with pytest.raises(gpg.GPGError, match='needs "GPG peer key"'):
        gpg.check_config('master@test.invalid', '', home=home)
    with pytest.raises(gpg.GPGError, match='needs "GPG key name"'):
        gpg.check_config('', 'client@test.invalid', home=home)
    with pytest.raises(gpg.GPGError, match='no GPG secret key'):
        gpg.check_config('client@test.invalid', 'master@test.invalid', home=home)
    with pytest.raises(gpg.GPGError, match='no GPG public key'):
        gpg.check_config('master@test.invalid', 'nobody@test.invalid', home=home)


def test_keyring_from_environment(keyrings, monkeypatch):
    monkeypatch.setenv('ERP5SYNCML_GNUPGHOME', keyrings['master'])
    assert gpg.gnupg_home() == keyrings['master']
    assert gpg.key_fingerprints('master@test.invalid', secret=True)


class Domain:
    meta_type = 'ERP5SyncML Subscription'

    def __init__(self, key='', peer=''):
        self.gpg_key, self.gpg_peer_key = key, peer

    def getId(self):
        return 'Repository'


def test_domain_helpers(keyrings, monkeypatch):
    monkeypatch.setenv('ERP5SYNCML_GNUPGHOME', keyrings['client'])
    plain = Domain()
    assert gpg.seal_for(plain, MESSAGE) is MESSAGE
    assert gpg.open_for(plain, MESSAGE) is MESSAGE
    sealed = gpg.seal_for(Domain('client@test.invalid', 'master@test.invalid'), MESSAGE)
    with pytest.raises(gpg.GPGError, match='no "GPG key name"'):
        gpg.open_for(plain, sealed)
    monkeypatch.setenv('ERP5SYNCML_GNUPGHOME', keyrings['master'])
    master = Domain('master@test.invalid', 'client@test.invalid')
    assert gpg.open_for_any([plain, master], sealed) == (MESSAGE, master)
    assert gpg.open_for_any([plain, master], MESSAGE) == (MESSAGE, None)
    with pytest.raises(gpg.GPGError) as info:
        gpg.check_opened(master, None)
    assert info.value.domain is master
