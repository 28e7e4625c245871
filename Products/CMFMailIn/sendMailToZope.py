#!/usr/bin/env python3
"""Post the mail read on standard input to a Zope portal_mailin.

What a mail alias pipes into, e.g. in /etc/aliases::

  cps_client: "|/path/to/sendMailToZope.py --credentials-file /etc/zope-mail.cred
               http://localhost:9673/cps_client/portal_mailin/"

The URL may carry ``user:password@`` (as in the original set-up), or the
credentials come from a file (``--credentials-file`` holding
``user:password``, or ``--password-file`` holding the password of the URL's
user), so they need not sit in the aliases file.

Exit status (sysexits, what the mail server acts on):
  0   the site accepted the mail
  75  EX_TEMPFAIL: Zope unreachable, busy or failing (5xx, timeout);
      the mail server keeps the mail and retries later
  77  EX_NOPERM: authentication or permission refused (401, 403)
  65  EX_DATAERR: the site refused the mail (other 4xx); it bounces
  64  EX_USAGE: bad arguments;  66 EX_NOINPUT: unreadable credentials file

Standard library only: the mail server runs it with the system python3.
Never prints the password.
"""
import argparse
import base64
import http.client
import socket
import sys
import urllib.parse

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_SOFTWARE = 70
EX_TEMPFAIL = 75
EX_NOPERM = 77

DEFAULT_TIMEOUT = 120
MAX_MAIL_SIZE = 32 * 1024 * 1024


class Failure(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code


def parse_target(url):
    """(scheme, host, port, path, user, password) of the portal_mailin URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise Failure(EX_USAGE, 'the URL must be http(s)://[user[:password]@]host'
                                '[:port]/site/portal_mailin/')
    try:
        port = parts.port
    except ValueError:
        raise Failure(EX_USAGE, 'bad port in the URL') from None
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    path = parts.path or '/'
    if parts.query:
        path += '?' + parts.query
    return parts.scheme, parts.hostname, port, path, user, password


def read_secret(path):
    try:
        with open(path, encoding='utf-8') as f:
            line = f.readline()
    except OSError as exc:
        raise Failure(EX_NOINPUT, 'cannot read %s: %s' % (path, exc.strerror)) from None
    line = line.rstrip('\r\n')
    if not line:
        raise Failure(EX_NOINPUT, '%s is empty' % path)
    return line


def credentials(args, user, password):
    if args.credentials_file:
        line = read_secret(args.credentials_file)
        if ':' not in line:
            raise Failure(EX_NOINPUT, '%s must hold user:password'
                          % args.credentials_file)
        user, password = line.split(':', 1)
    elif args.password_file:
        password = read_secret(args.password_file)
    if args.user:
        user = args.user
    return user, password


def post(scheme, host, port, path, data, user, password, timeout):
    """POST ``data``; return (status, body text). Network trouble -> Failure 75."""
    conn_class = http.client.HTTPSConnection if scheme == 'https' else http.client.HTTPConnection
    headers = {'Content-Type': 'message/rfc822', 'User-Agent': 'sendMailToZope'}
    if user:
        token = base64.b64encode(('%s:%s' % (user, password or '')).encode('utf-8'))
        headers['Authorization'] = 'Basic ' + token.decode('ascii')
    conn = conn_class(host, port, timeout=timeout)
    try:
        conn.request('POST', path, body=data, headers=headers)
        response = conn.getresponse()
        body = response.read(64 * 1024)
        return response.status, body.decode('utf-8', 'replace')
    except (OSError, http.client.HTTPException, socket.timeout) as exc:
        raise Failure(EX_TEMPFAIL, 'cannot reach %s:%s: %s'
                      % (host, port or '', exc or type(exc).__name__)) from None
    finally:
        conn.close()


def exit_code_for(status):
    if 200 <= status < 300:
        return EX_OK
    if status in (401, 403):
        return EX_NOPERM
    if status >= 500 or status in (408, 429):
        return EX_TEMPFAIL
    return EX_DATAERR


def _summary(text, limit=500):
    text = ' '.join(text.split())
    return text[:limit]


def main(argv=None, stdin=None, stderr=None):
    """Console script entry point; returns the exit status."""
    stdin = stdin if stdin is not None else sys.stdin.buffer
    stderr = stderr if stderr is not None else sys.stderr
    parser = argparse.ArgumentParser(
        prog='sendMailToZope',
        description='Post the mail on standard input to a Zope portal_mailin.')
    parser.add_argument('url', help='http://[user[:password]@]host:port/site/portal_mailin/')
    parser.add_argument('--credentials-file', help='file holding user:password')
    parser.add_argument('--password-file', help="file holding the URL user's password")
    parser.add_argument('--user', help='user name (instead of the one in the URL)')
    parser.add_argument('--timeout', type=float, default=DEFAULT_TIMEOUT,
                        help='seconds to wait for Zope (default %(default)s)')
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EX_USAGE if exc.code else EX_OK
    try:
        scheme, host, port, path, user, password = parse_target(args.url)
        user, password = credentials(args, user, password)
        data = stdin.read(MAX_MAIL_SIZE + 1)
        if len(data) > MAX_MAIL_SIZE:
            raise Failure(EX_DATAERR, 'mail larger than %d bytes' % MAX_MAIL_SIZE)
        if not data.strip():
            raise Failure(EX_DATAERR, 'no mail on standard input')
        status, text = post(scheme, host, port, path, data, user, password,
                            args.timeout)
    except Failure as exc:
        stderr.write('sendMailToZope: %s\n' % exc)
        return exc.code
    code = exit_code_for(status)
    if code != EX_OK:
        where = '%s:%s%s' % (host, port or '', path)
        stderr.write('sendMailToZope: %s answered HTTP %d: %s\n'
                     % (where, status, _summary(text)))
    return code


if __name__ == '__main__':
    sys.exit(main())
