"""Throw-away GPG keyrings for tests: ed25519/cv25519 keys, no passphrase."""
import contextlib
import shutil
import subprocess
import tempfile

KEY_PARAMS = """%no-protection
Key-Type: eddsa
Key-Curve: ed25519
Key-Usage: sign
Subkey-Type: ecdh
Subkey-Curve: cv25519
Subkey-Usage: encrypt
Name-Real: {name}
Name-Email: {email}
Expire-Date: 0
%commit
"""


def gpg(home, *args, input=None):
    return subprocess.run(['gpg', '--homedir', home, '--batch', '--quiet'] + list(args),
                          input=input, capture_output=True, check=True, timeout=60)


def new_home():
    # short path: gpg-agent's socket path has a length limit
    home = tempfile.mkdtemp(prefix='gpg')
    return home


def generate(home, name, email):
    """Generate a key in ``home``; return its fingerprint."""
    gpg(home, '--gen-key', input=KEY_PARAMS.format(name=name, email=email).encode())
    out = gpg(home, '--with-colons', '--list-secret-keys', email).stdout.decode()
    return [l.split(':')[9] for l in out.splitlines() if l.startswith('fpr:')][0]


def export_public(home, name):
    return gpg(home, '--armor', '--export', name).stdout


def import_keys(home, data):
    gpg(home, '--import', input=data)


def remove_home(home):
    with contextlib.suppress(Exception):
        subprocess.run(['gpgconf', '--homedir', home, '--kill', 'all'],
                       capture_output=True, timeout=30)
    shutil.rmtree(home, ignore_errors=True)
