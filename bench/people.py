"""The benchmark's data: realistic Person objects."""


def person_props(i):
    """Typed properties of a realistic person (about 1.5 KB of XML)."""
    from DateTime import DateTime
    return dict(
        title='Person %d' % i, first_name='Jean%d' % i,
        last_name='Dupont-%d' % (i % 97),
        email='jean%d@example.org' % i, telephone='+33 1 23 45 %02d %02d'
        % (i // 100 % 100, i % 100),
        description='Customer since %d.\nNotes: line two\n  indented line\n'
        % (1990 + i % 30),
        language=('fr', 'en', 'de', 'it')[i % 4], format='text/plain',
        birthday=DateTime(1950 + i % 50, 1 + i % 12, 1 + i % 28, 12, 0, 0, 'GMT'),
        age=20 + i % 60, active=bool(i % 2), tags=('customer', 'group %d' % (i % 7)),
        photo=bytes((i + k) % 256 for k in range(512)))


def person_id(i):
    return 'p%06d' % i
