"""Every edit path reaches the other site: the stock ZMI forms of plain
OFS objects (which fire no event), and edits made by code that the change
journal cannot see (found by their ZODB serial)."""
import time
import uuid

import pytest
import transaction
from OFS.DTMLDocument import addDTMLDocument
from OFS.Folder import manage_addFolder
from OFS.Image import manage_addFile
from OFS.Image import manage_addImage
from Products.PageTemplates.ZopePageTemplate import manage_addPageTemplate
from Products.PythonScripts.PythonScript import manage_addPythonScript
from zope.component.hooks import setSite

from Products.ERP5SyncML.domain.outgoing import JOURNAL_MARGIN
from synchelpers import FOLDER
from synchelpers import folder
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import sync

pytestmark = pytest.mark.functional

PNG = (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01'
       b'\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f'
       b'\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82')


def _allow_code(zope, pair):
    # scripts and templates are code: each side must allow them
    with zope.app() as app:
        app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id).edit(allow_code_objects='yes')
        app[pair.client].portal_synchronizations.getSubscription(
            pair.pub_id).edit(allow_code_objects='yes')


def _ofs_objects(app, site_id):
    people = folder(app, site_id)
    addDTMLDocument(people, 'dtml', title='DTML', file='<dtml-var title_or_id>')
    manage_addPageTemplate(people, 'page', title='Page', text='<p>one</p>')
    manage_addFile(people, 'notes', file=b'first', title='Notes',
                   content_type='text/plain')
    manage_addImage(people, 'pixel', file=PNG, title='Pixel')
    manage_addFolder(people, 'docs', title='Docs')
    manage_addPythonScript(people, 'doubler')
    people['doubler'].ZPythonScript_edit('a', 'return a\n')
    setSite(None)


def _multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                      % (boundary, name, value)).encode())
    for name, (filename, data, ctype) in files.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; '
                      'filename="%s"\r\nContent-Type: %s\r\n\r\n'
                      % (boundary, name, filename, ctype)).encode() + data + b'\r\n')
    body = b''.join(parts) + ('--%s--\r\n' % boundary).encode()
    return body, {'Content-Type': 'multipart/form-data; boundary=%s' % boundary}


def _form(zope, site_id, path, method, data=None, files=None):
    url = '/%s/%s/%s/%s' % (site_id, FOLDER, path, method)
    if files:
        body, headers = _multipart(data or {}, files)
        status, _headers, text = zope.http('POST', url, body, headers=headers)
    else:
        status, _headers, text = zope.http('POST', url, data or {})
    assert status in (200, 302), (url, status, text[:500])


def test_edits_through_the_stock_zmi_forms_reach_the_master(zope):
    pair = make_sites(zope)
    _allow_code(zope, pair)
    with zope.app() as app:
        _ofs_objects(app, pair.master)
    assert sync(pair)['status'] == 'finished'
    client = pair.client
    _form(zope, client, 'dtml', 'manage_edit',
          {'data': '<p>edited in the ZMI</p>', 'title': 'DTML edited'})
    _form(zope, client, 'page', 'pt_editAction',
          {'title': 'Page edited', 'text': '<p>two</p>', 'content_type': 'text/html'})
    _form(zope, client, 'notes', 'manage_upload',
          files={'file': ('notes.txt', b'uploaded content', 'text/plain')})
    _form(zope, client, 'pixel', 'manage_upload',
          files={'file': ('pixel.png', PNG + b'more', 'image/png')})
    _form(zope, client, 'docs', 'manage_changeProperties', {'title': 'Docs edited'})
    _form(zope, client, 'docs', 'manage_addProperty',
          {'id': 'colour', 'value': 'blue', 'type': 'string'})
    _form(zope, client, 'doubler', 'ZPythonScriptHTML_editAction',
          {'title': 'Script edited', 'params': 'a, b=2', 'body': 'return a * b\n'})
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts']['sent_replace'] == 6, report
    with zope.app() as app:
        master = folder(app, pair.master)
        assert master['dtml'].title == 'DTML edited'
        assert 'edited in the ZMI' in master['dtml'].read()
        assert master['page'].title == 'Page edited'
        assert '<p>two</p>' in master['page'].read()
        assert bytes(master['notes'].data) == b'uploaded content'
        assert bytes(master['pixel'].data) == PNG + b'more'
        assert master['docs'].title == 'Docs edited'
        assert master['docs'].getProperty('colour') == 'blue'
        assert master['doubler'](3) == 6
        assert folder_xml(app, pair.client) == folder_xml(app, pair.master)
        setSite(None)
        transaction.abort()


def test_an_edit_that_fires_no_event_is_found_by_its_serial(zope):
    pair = make_sites(zope)
    _allow_code(zope, pair)
    with zope.app() as app:
        _ofs_objects(app, pair.master)
    # past the journal's overlap margin, the objects made before the first
    # sync are not examined again at the next one for that reason
    time.sleep(JOURNAL_MARGIN + 1)
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        people = folder(app, pair.master)
        # Python calls: no event, no published object
        people['dtml'].manage_edit('<p>by a script</p>', 'DTML by code')
        people['page'].pt_edit('<p>three</p>', 'text/html')
        setSite(None)
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts']['received_replace'] == 2, report
    with zope.app() as app:
        copy = folder(app, pair.client)
        assert copy['dtml'].title == 'DTML by code'
        assert '<p>three</p>' in copy['page'].read()
        assert folder_xml(app, pair.client) == folder_xml(app, pair.master)
        # nothing else changed: the next sync examines nothing new
        setSite(None)
        transaction.abort()
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts']['received_replace'] == 0
    assert report['counts']['sent_replace'] == 0
