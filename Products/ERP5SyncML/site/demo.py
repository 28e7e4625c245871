"""Demo content of a demo site (``add_site(..., demo=True)``).

The demo profile creates the empty modules; ``populate`` fills
``portal_repository`` (the folder the seed configuration synchronizes)
with sample persons covering every property type, non-ASCII text and
persons nested three levels deep.
"""
import base64

from Acquisition import aq_base
from DateTime import DateTime

#: Modules every demo site has: id -> title.
MODULES = {
    'portal_repository': 'Repository',
    'person_module': 'Persons',
}

# A valid 1x1 PNG: binary data with NUL and high bytes.
PHOTO = base64.b64decode(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ'
    'DwAEhQGAhKmMIQAAAABJRU5ErkJggg==')

#: (path inside portal_repository, properties) in creation order.
PERSONS = (
    ('p1', dict(
        first_name='Sébastien', last_name='Müller',
        email='sebastien.muller@example.org', telephone='+33 1 23 45 67 89',
        description='Première ligne\nDeuxième ligne — «quoted» ✓\n',
        language='fr', format='text/plain',
        birthday=DateTime('1980/05/17 10:30:00 GMT+2'),
        age=44, active=True, tags=('client', 'ami', 'VIP'),
        photo=PHOTO)),
    ('p1/p1_1', dict(
        first_name='Zoë', last_name='Müller', age=12, active=True,
        birthday=DateTime('2012/01/31 00:00:00 GMT'), tags=('child',))),
    ('p1/p1_1/p1_1_1', dict(
        title='Level three', first_name='Ünal', age=1)),
    ('p2', dict(
        first_name='John', last_name='Smith', email='john@example.com',
        language='en', age=30, active=False, tags=())),
    ('p3', dict(first_name='Ana', last_name='García')),
)


def create_modules(site):
    """Add the missing demo modules to ``site``; return the ids added."""
    from .content import Module
    added = []
    for module_id, title in MODULES.items():
        if getattr(aq_base(site), module_id, None) is None:
            site._setObject(module_id, Module(module_id, title=title))
            site._getOb(module_id)._setPortalTypeName('Module')
            added.append(module_id)
    return added


def populate(site):
    """Create the sample persons missing from ``site.portal_repository``
    (added by the demo profile); return the paths created."""
    repository = site._getOb('portal_repository')
    created = []
    for path, props in PERSONS:
        container = repository
        *parents, person_id = path.split('/')
        for parent_id in parents:
            container = container._getOb(parent_id)
        if person_id in container.objectIds():
            continue
        container.invokeFactory('Person', person_id, **props)
        created.append(path)
    return created
