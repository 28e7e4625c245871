"""Folders of ordinary Zope objects synchronize too."""
import pytest
import transaction
from OFS.Folder import manage_addFolder
from OFS.Image import manage_addFile
from OFS.Image import manage_addImage
from OFS.DTMLDocument import addDTMLDocument
from Products.PageTemplates.ZopePageTemplate import manage_addPageTemplate
from Products.PythonScripts.PythonScript import manage_addPythonScript
from zope.component.hooks import setSite

from synchelpers import folder
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import sync

pytestmark = pytest.mark.functional

PNG = (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01'
       b'\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f'
       b'\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82')


def test_ofs_objects_round_trip_and_edits_follow(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        # scripts and templates are code: each side must allow them
        app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id).edit(allow_code_objects='yes')
        app[pair.client].portal_synchronizations.getSubscription(
            pair.pub_id).edit(allow_code_objects='yes')
    with zope.app() as app:
        people = folder(app, pair.master)
        manage_addFolder(people, 'docs', title='Plain folder')
        docs = people['docs']
        manage_addFile(docs, 'notes.txt', file=b'line 1\r\nline 2\x00binary',
                       title='Notes', content_type='text/plain')
        manage_addImage(docs, 'pixel.png', file=PNG, title='Pixel')
        manage_addPageTemplate(docs, 'page', title='Page',
                               text='<p tal:content="string:hello">x</p>')
        manage_addPythonScript(docs, 'add_numbers')
        docs['add_numbers'].ZPythonScript_edit('a, b=1', 'return a + b\n')
        addDTMLDocument(docs, 'dtml', title='DTML', file='<dtml-var title_or_id>')
        setSite(None)
    report = sync(pair)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert folder_xml(app, pair.client) == folder_xml(app, pair.master)
        copy = folder(app, pair.client)['docs']
        assert bytes(copy['notes.txt'].data) == b'line 1\r\nline 2\x00binary'
        assert copy['add_numbers'](2) == 3
        # an edit on the client through the object's own API
        copy['notes.txt'].manage_edit('Notes, edited', 'text/plain',
                                      filedata=b'new content')
        setSite(None)
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts']['sent_replace'] == 1
    with zope.app() as app:
        original = folder(app, pair.master)['docs']['notes.txt']
        assert bytes(original.data) == b'new content'
        assert original.title == 'Notes, edited'
        assert folder_xml(app, pair.client) == folder_xml(app, pair.master)
        transaction.abort()
