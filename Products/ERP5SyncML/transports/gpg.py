"""GPG: sign and encrypt outgoing SyncML messages, check incoming ones.

A publication or subscription whose "GPG key name" is set signs every
message it sends with that (secret) key and encrypts it for its peer's
key ("GPG peer key"); every message it receives must be encrypted for its
own key and signed by the peer's key, or it is refused before anything is
applied. The message travels as an ASCII-armored OpenPGP message.

The keyring is the directory named by a string property ``gnupg_home``
found by acquisition from the publication/subscription (add it to the site,
or to the Zope root, in the ZMI Properties tab), else by the environment
variable ``ERP5SYNCML_GNUPGHOME``, else ``GNUPGHOME``, else gpg's default
(``~/.gnupg`` of the user Zope runs as). Naming a key in the field is the
trust decision: the keyring's owner-trust is not consulted.

python-gnupg runs the system ``gpg`` without a shell, feeding data through
pipes: no temporary files.
"""
import logging
import os
import re

logger = logging.getLogger('Products.ERP5SyncML')

ARMOR_BEGIN = b'-----BEGIN PGP MESSAGE-----'
CONTENT_TYPE = 'application/pgp-encrypted'
ENV_HOMES = ('ERP5SYNCML_GNUPGHOME', 'GNUPGHOME')
_STATUS = re.compile(rb'^\[GNUPG:\] (\S+) ?(.*)$', re.M)


class GPGError(Exception):
    """A message cannot be sealed or is refused; the text says why.
    ``domain``: the publication/subscription it concerns, when known."""

    retry = False  # sending or reading it again gives the same answer
    domain = None


def gnupg_home(domain=None):
    """The keyring directory for ``domain`` (None: gpg's default)."""
    value = getattr(domain, 'gnupg_home', None) if domain is not None else None
    if isinstance(value, str) and value.strip():
        return value.strip()
    for name in ENV_HOMES:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _gpg(home=None):
    try:
        import gnupg
    except ImportError:  # pragma: no cover - install_requires has it
        raise GPGError('python-gnupg is not installed') from None
    try:
        return gnupg.GPG(gnupghome=home or gnupg_home())
    except (OSError, ValueError) as exc:
        raise GPGError('cannot run gpg: %s' % exc) from None


def is_sealed(data):
    """Does ``data`` look like an armored OpenPGP message?"""
    if isinstance(data, str):
        data = data.encode('utf-8', 'replace')
    return data.lstrip()[:len(ARMOR_BEGIN)] == ARMOR_BEGIN


def key_fingerprints(name, secret=False, home=None):
    """Fingerprints (primary key and subkeys) of the one key ``name`` names
    (fingerprint, key id or user id); GPGError if none or several."""
    name = (name or '').strip()
    if not name:
        raise GPGError('no GPG key name given')
    keys = _gpg(home).list_keys(secret=secret, keys=[name])
    what = 'secret key' if secret else 'public key'
    if not keys:
        raise GPGError('no GPG %s %r in the keyring %s'
                       % (what, name, home or gnupg_home() or '(default)'))
    if len(keys) > 1:
        raise GPGError('GPG key name %r names %d keys: use its fingerprint'
                       % (name, len(keys)))
    key = keys[0]
    fprs = {key['fingerprint'].upper()}
    for sub in key.get('subkeys') or ():
        if len(sub) > 2 and sub[2]:
            fprs.add(sub[2].upper())
    return fprs


def check_config(key, peer_key, home=None, lookup=True):
    """Validate the fields of a publication/subscription: both keys are set
    or neither, and (``lookup``) our secret key and the peer's public key
    are in the keyring."""
    key, peer_key = (key or '').strip(), (peer_key or '').strip()
    if not key and not peer_key:
        return
    if not key:
        raise GPGError('"GPG peer key" needs "GPG key name" (your own key)')
    if not peer_key:
        raise GPGError('"GPG key name" needs "GPG peer key" (the key of the '
                       'other site, which signs what it sends)')
    if not lookup:
        return
    key_fingerprints(key, secret=True, home=home)
    key_fingerprints(peer_key, secret=False, home=home)


def seal(data, key, peer_key, home=None):
    """Sign ``data`` (bytes) with ``key`` and encrypt it for ``peer_key``;
    return the armored message (bytes)."""
    gpg = _gpg(home)
    signer = sorted(key_fingerprints(key, secret=True, home=home))[0]
    recipient = _primary(peer_key, home)
    result = gpg.encrypt(data, [recipient], sign=signer, armor=True,
                         always_trust=True, extra_args=['--pinentry-mode', 'loopback'])
    if not result.ok:
        raise GPGError('cannot sign and encrypt for %s: %s'
                       % (peer_key, result.status or _last_error(result)))
    return bytes(result.data)


def _primary(name, home):
    keys = _gpg(home).list_keys(keys=[name])
    if len(keys) != 1:
        key_fingerprints(name, home=home)  # raises the precise error
    return keys[0]['fingerprint']


def _last_error(result):
    lines = [l for l in (result.stderr or '').splitlines() if not l.startswith('[GNUPG:]')]
    return lines[-1].strip() if lines else 'gpg failed'


def open_sealed(data, key, peer_key, home=None):
    """Decrypt and verify an armored message for ``key`` from ``peer_key``;
    return the plain bytes. GPGError (nothing returned) when it is not
    encrypted, not for our key, unsigned, signed by another key, tampered
    with or undecryptable."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    if not is_sealed(data):
        raise GPGError('message refused: it is not GPG encrypted, and %s is '
                       'configured to accept only encrypted messages' % key)
    ours = key_fingerprints(key, secret=True, home=home)
    theirs = key_fingerprints(peer_key, secret=False, home=home)
    result = _gpg(home).decrypt(data, always_trust=True,
                                extra_args=['--pinentry-mode', 'loopback'])
    status = _status_lines(result)
    if not result.ok:
        raise GPGError('message refused: cannot decrypt it (%s)'
                       % (result.status or _last_error(result)))
    used = {f.upper() for f in status.get('DECRYPTION_KEY', [''])[0].split()[:2]}
    if used and not used & ours:
        raise GPGError('message refused: it is encrypted for another key, not %s'
                       % key)
    if 'BADSIG' in status or 'BADMDC' in status:
        raise GPGError('message refused: bad signature (tampered message)')
    if 'GOODSIG' not in status or 'VALIDSIG' not in status:
        if 'ERRSIG' in status or 'NO_PUBKEY' in status:
            raise GPGError('message refused: signed by an unknown key')
        raise GPGError('message refused: it is not signed')
    signer = status['VALIDSIG'][0].split()
    signer_fprs = {signer[0].upper()} | ({signer[9].upper()} if len(signer) > 9 else set())
    if not signer_fprs & theirs:
        raise GPGError('message refused: signed by %s, not by the peer key %s'
                       % (signer[-1] if len(signer) > 9 else signer[0], peer_key))
    if 'GOODMDC' not in status and 'DECRYPTION_OKAY' not in status:
        raise GPGError('message refused: integrity not protected')
    return bytes(result.data)


def _status_lines(result):
    status = {}
    raw = (result.stderr or '').encode('utf-8', 'replace')
    for match in _STATUS.finditer(raw):
        status.setdefault(match.group(1).decode(), []).append(
            match.group(2).decode('utf-8', 'replace'))
    return status


# -- what publications and subscriptions call ---------------------------------

def uses_gpg(domain):
    return bool((getattr(domain, 'gpg_key', '') or '').strip())


def seal_for(domain, data):
    """``data`` as ``domain`` sends it: sealed when it has a GPG key."""
    if not uses_gpg(domain) or data is None:
        return data
    return seal(data, domain.gpg_key, getattr(domain, 'gpg_peer_key', ''),
                home=gnupg_home(domain))


def open_for(domain, data):
    """``data`` as ``domain`` accepts it: opened and checked when it has a
    GPG key; an encrypted message for a domain without one is refused."""
    if not uses_gpg(domain):
        if is_sealed(data):
            raise GPGError('message refused: it is GPG encrypted but %s %s has '
                           'no "GPG key name"' % (getattr(domain, 'meta_type', ''),
                                                  domain.getId()))
        return data
    return open_sealed(data, domain.gpg_key, getattr(domain, 'gpg_peer_key', ''),
                       home=gnupg_home(domain))


def open_for_any(domains, data):
    """Open ``data`` for the first of ``domains`` (publications) it is
    sealed for; return (plain bytes, that domain, or None when ``data`` is
    plain). GPGError (with ``domain`` set when only one was tried) otherwise."""
    domains = list(domains)
    if not is_sealed(data):
        return data, None
    candidates = [d for d in domains if uses_gpg(d)]
    if not candidates:
        exc = GPGError('message refused: it is GPG encrypted but no publication '
                       'here has a "GPG key name"')
        exc.domain = domains[0] if len(domains) == 1 else None
        raise exc
    errors = []
    for domain in candidates:
        try:
            return open_for(domain, data), domain
        except GPGError as exc:
            errors.append(exc)
    exc = errors[0]
    exc.domain = candidates[0] if len(candidates) == 1 else None
    raise exc


def check_opened(domain, opened_by):
    """Refuse a message for ``domain`` (a publication) unless it was opened
    with ``domain``'s keys, when ``domain`` has a GPG key."""
    if not uses_gpg(domain):
        return
    if opened_by is None or opened_by.getId() != domain.getId():
        exc = GPGError('message refused: %s %s accepts only messages encrypted '
                       'for its key and signed by its peer key'
                       % (getattr(domain, 'meta_type', ''), domain.getId()))
        exc.domain = domain
        raise exc
