"""vCard 2.1/3.0 <-> Person property values."""
import datetime

import pytest
import vobject

from Products.ERP5SyncML.mapping import vcard

FULL = {
    'title': 'Zoë Œuvre', 'first_name': 'Zoë', 'last_name': 'Œuvre',
    'email': 'zoe@example.org', 'telephone': '+33 1 23 45 67 89',
    'organisation': 'Société Générale; R&D',
    'address': '1, rue de la Paix\nParis\nÎle-de-France\n75002\nFrance',
    'description': 'Line one, with comma; semicolon\nline 2 \u4e2d\u6587 '
                   '\U0001F600\\ end',
    'birthday': datetime.date(1980, 2, 29),
}


@pytest.mark.parametrize('content_type', [vcard.VCARD21, vcard.VCARD30])
def test_round_trip(content_type):
    text = vcard.serialize(FULL, content_type, uid='person-7')
    assert text.startswith('BEGIN:VCARD\r\nVERSION:%s\r\n'
                           % vcard.CONTENT_TYPES[content_type])
    assert text.endswith('END:VCARD\r\n')
    assert vcard.parse(text) == FULL
    assert vobject.readOne(text).uid.value == 'person-7'


def test_vcard21_says_utf8_for_non_ascii():
    text = vcard.serialize(FULL, vcard.VCARD21)
    assert 'FN;CHARSET=UTF-8:Zoë Œuvre\r\n' in text
    assert 'EMAIL;INTERNET:zoe@example.org\r\n' in text


def test_empty_person_gets_a_name_line():
    text = vcard.serialize({'email': 'a@b.c'})
    card = vobject.readOne(text)
    assert card.fn.value == 'a@b.c'
    values = vcard.parse(text)
    assert values['email'] == 'a@b.c' and values['birthday'] is None
    assert values['first_name'] == values['address'] == ''


def test_display_name_from_names():
    card = vobject.readOne(vcard.serialize({'first_name': 'Ada',
                                            'last_name': 'Lovelace'}))
    assert card.fn.value == 'Ada Lovelace'


def test_reads_vcard21_quoted_printable_and_pref():
    values = vcard.parse(
        'BEGIN:VCARD\r\nVERSION:2.1\r\n'
        'N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C5=92uvre;Zo=C3=AB\r\n'
        'FN:Zoe\r\nTEL;HOME:+1\r\nTEL;CELL;PREF:+2\r\n'
        'EMAIL;INTERNET:z@x.org\r\nADR;HOME:;;1 rue;Paris;;75001;France\r\n'
        'BDAY:19800203\r\n'
        'NOTE;ENCODING=QUOTED-PRINTABLE:line1=0D=0Aline2\r\nEND:VCARD\r\n')
    assert values['first_name'] == 'Zoë' and values['last_name'] == 'Œuvre'
    assert values['telephone'] == '+2'
    assert values['address'] == '1 rue\nParis\n\n75001\nFrance'
    assert values['birthday'] == datetime.date(1980, 2, 3)
    assert values['description'] == 'line1\nline2'


def test_reads_syncevolution_card():
    values = vcard.parse(
        'BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Synthesis AG//NONSGML '
        'SyncML Engine V3.4.0.47//EN\r\nREV:20100328T103410Z\r\n'
        'N:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\nX-EVOLUTION-FILE-AS:\r\n'
        'NICKNAME:\r\nTITLE:\r\nORG:;;;\r\nTEL;TYPE=CELL:+44 20 1\r\n'
        'EMAIL;TYPE=INTERNET:ada@example.org\r\nURL:\r\nADR:;;;;;;\r\n'
        'BDAY:\r\nNOTE:\r\nPHOTO:\r\nGEO:;\r\nEND:VCARD\r\n')
    assert values == dict(vcard.parse(vcard.serialize(values)),
                          title='Ada Lovelace')
    assert values['email'] == 'ada@example.org'
    assert values['organisation'] == '' and values['address'] == ''
    assert values['birthday'] is None


@pytest.mark.parametrize('text', [
    '', 'hello', b'\xff\xfe', None, 42, 'BEGIN:VCALENDAR\r\nEND:VCALENDAR',
    'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\n',            # no END
    'BEGIN:VCARD\r\nVERSION:3.0\r\nBDAY:yesterday\r\nEND:VCARD\r\n',
    'BEGIN:VCARD\r\nVERSION:3.0\r\nBDAY:2001-02-30\r\nEND:VCARD\r\n',
    'BEGIN:VCARD\r\nEND:VCARD\r\nBEGIN:VCARD' + 'x' * (2 * 1024 * 1024),
])
def test_bad_input_is_a_clear_error(text):
    with pytest.raises(vcard.VCardError):
        vcard.parse(text)


def test_bad_values_and_types():
    with pytest.raises(vcard.VCardError):
        vcard.serialize({'birthday': 'soon'})
    with pytest.raises(vcard.VCardError):
        vcard.serialize({'email': 42})
    with pytest.raises(vcard.VCardError):
        vcard.serialize(FULL, 'text/calendar')
    assert vcard.content_type_version('text/x-vcard; charset=utf-8') == '2.1'


def test_from_person_like_object():
    class Person:
        def getProperty(self, key, default=None):
            return dict(FULL, birthday='1980-02-29').get(key, default)
    text = vcard.from_person(Person(), vcard.VCARD30, uid='p1')
    assert vcard.parse(text) == FULL
