"""The hardened parser: DTDs are refused, markup-looking text is not."""
import pytest

from Products.ERP5SyncML.syncml import xmlsafe


def laughs(prefix=b''):
    entities = b''.join(b'<!ENTITY lol%d "%s">' % (i, b'&lol%d;' % (i - 1) * 10)
                        for i in range(1, 10))
    return (b'<?xml version="1.0"?>' + prefix + b'<!DOCTYPE r [<!ENTITY lol0 '
            b'"lol">' + entities + b']><r>&lol9;</r>')


@pytest.mark.parametrize('data', [
    laughs(),
    laughs(b'<!-- <a> hides the doctype from the quick scan -->'),
    b'<!-- <a> --><!DOCTYPE r [<!ENTITY e "v">]><r>&e;</r>',
    b'<!DOCTYPE r SYSTEM "http://example.org/r.dtd"><r/>',
    b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>',
])
def test_dtds_and_entities_are_refused(data):
    with pytest.raises(xmlsafe.UnsafeXMLError):
        xmlsafe.parse(data)


def test_declaration_like_text_inside_the_document_is_data():
    data = (b'<r><d><![CDATA[<!DOCTYPE html><!ENTITY x "y"><p>&x;</p>]]></d>'
            b'<!-- <!DOCTYPE in a comment --></r>')
    root = xmlsafe.parse(data)
    assert root[0].text == '<!DOCTYPE html><!ENTITY x "y"><p>&x;</p>'


def test_size_limit_and_garbage():
    with pytest.raises(xmlsafe.UnsafeXMLError, match='exceeds'):
        xmlsafe.parse(b'<r>' + b'x' * 100 + b'</r>', max_size=50)
    for bad in (b'', b'<r>', b'\xff\xfe\x00', 42):
        with pytest.raises(xmlsafe.UnsafeXMLError):
            xmlsafe.parse(bad)
