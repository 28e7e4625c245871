"""ERP5Conduit: applies object XML to objects, with per-property conflicts.

The object XML (docs/xml-format.txt) is compared as three versions:
*previous* (the last state both sides agreed on), *new* (the incoming
one) and *current* (the live object, read through its XML mapping). Only
what changed between previous and new is applied. A property whose
current value differs from both previous and new is a conflict: it is
left alone (unless ``force``) and reported. Values are compared by their
canonical XML, so ``1`` (int) and ``'1'`` (string) differ.

A conflict is a plain dict::

    {'path': ('sub', 'subsub'),      # ids from the object down; () = itself
     'property': 'title',            # or 'local_role:<user>', or None for
                                     # a whole sub-object
     'kind': 'property' | 'local_role' | 'delete',
     'previous_value': '<title type="string">a</title>' or None,
     'publisher_value': current local XML (str) or None,
     'subscriber_value': incoming XML (str) or None}
"""
import logging

from lxml import etree
from zope.interface import implementer

from ..interfaces import IConduit
from ..mapping import createObject
from ..mapping import getXMLMapping
from ..mapping import serialize
from ..mapping.adapters import check_permission
from ..mapping.values import from_element
from ..mapping.values import format_date
from ..mapping.values import property_id_of
from ..mapping.values import to_element
from ..syncml import xmlsafe

logger = logging.getLogger('Products.ERP5SyncML')

LOCAL_ROLE_PREFIX = 'local_role:'


class ConduitError(ValueError):
    """Incoming XML that cannot be applied (bad shape, missing object)."""


def as_element(xml):
    """An ``<object>`` element from an element, bytes or str."""
    if isinstance(xml, (bytes, str)):
        xml = xmlsafe.parse(xml)
    if isinstance(xml, etree._ElementTree):
        xml = xml.getroot()
    if xml is None or xml.tag != 'object':
        raise ConduitError('expected an <object> element, not %r'
                           % (getattr(xml, 'tag', xml),))
    return xml


def empty_like(element):
    """An ``<object>`` with ``element``'s attributes and no content."""
    empty = etree.Element('object')
    for name, value in element.attrib.items():
        empty.set(name, value)
    return empty


_MISSING = object()
# types whose equal values (of the same Python type) always give equal XML
_PLAIN_TYPES = frozenset(('string', 'text', 'ustring', 'utext', 'selection',
                          'int', 'long', 'boolean', 'base64', 'none'))
builtin_type = type


def _leaf(element):
    """A property element as comparable data: what its canonical XML says."""
    return (element.tag, sorted(element.attrib.items()), element.text or '',
            [(child.tag, sorted(child.attrib.items()), child.text or '')
             for child in element if isinstance(child.tag, str)])


def _same_value(property_id, type, value, element):
    """Whether ``element`` is the XML of the value; equal Python values
    of these types have the same XML, others are compared as XML."""
    if type == 'date':
        if value is None or value == '':
            return not element.text
        return format_date(value) == (element.text or '').strip() and \
            not len(element.attrib) > 1
    if type in _PLAIN_TYPES and not len(element) and \
            element.get('encoding') is None:
        theirs = from_element(element)[2]
        if builtin_type(theirs) is builtin_type(value) and theirs == value:
            return True
    return _leaf(to_element(property_id, type, value)) == _leaf(element)


def matches(obj, element):
    """Whether ``obj``'s XML is ``element`` (root id aside), compared value
    by value without serializing the object; None when that cannot be told
    this way (sub-objects)."""
    element = as_element(element)
    parts = _Parts(element)
    if parts.objects:
        return None
    if set(element.attrib) - {'id', 'portal_type', 'meta_type'}:
        return False
    mapping = getXMLMapping(obj)
    if mapping.getSubObjects():
        return None
    if element.get('portal_type', '') != mapping.getPortalType() or \
            element.get('meta_type', '') != mapping.getMetaType():
        return False
    items = mapping.getPropertyItems()
    if len(items) != len(parts.properties):
        return False
    for property_id, type, value in items:
        theirs = parts.properties.get(property_id)
        if theirs is None or theirs.get('type', 'string') != type:
            return False
        if not _same_value(property_id, type, value, theirs):
            return False
    roles = [(el.get('id'), tuple(sorted(_roles(el))))
             for _user, el in sorted(parts.roles.items())]
    return roles == mapping.getLocalRoles()


class _Parts:
    """The children of one ``<object>``, by kind, keyed by id."""

    def __init__(self, element):
        self.properties = {}
        self.roles = {}
        self.objects = {}
        if element is None:
            return
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child.tag == 'object':
                self.objects[child.get('id')] = child
            elif child.tag == 'local_role':
                self.roles[child.get('id')] = child
            else:
                self.properties[property_id_of(child)] = child


def validate(element):
    """Read every property value of an ``<object>`` tree, so that bad
    input is refused before anything is changed."""
    for child in element.iter():
        if not isinstance(child.tag, str) or child.tag in ('object', 'role',
                                                          'item'):
            continue
        parent = child.getparent()
        if parent is None or parent.tag != 'object':
            continue
        if child.tag == 'local_role':
            if not child.get('id'):
                raise ConduitError('<local_role> without id')
            continue
        from_element(child)


def _text(element):
    return None if element is None else serialize(element).decode('utf-8')


def _same(a, b):
    if a is None or b is None:
        return a is b
    return serialize(a) == serialize(b)


def _roles(element):
    return [role.text or '' for role in element if role.tag == 'role'] \
        if element is not None else []


@implementer(IConduit)
class Conduit:
    """The default conduit (registered as the ``ERP5Conduit`` utility)."""

    # -- IConduit ------------------------------------------------------------

    def getGidFromObject(self, obj):
        """The GID of an object: its id."""
        return obj.getId()

    def addNode(self, container, element, object_id=None):
        """Create the object of ``element`` (sub-objects included) in
        ``container`` with id ``object_id`` (default: the XML id).

        Every value is converted once and checked before anything is
        created; each property is then set once (only those the factory
        did not already give that value), and the object is indexed once.
        """
        element = as_element(element)
        parts = _Parts(element)
        values = [from_element(child) for _pid, child in
                  sorted(parts.properties.items())]
        for sub in parts.objects.values():
            validate(sub)
        for user, role in parts.roles.items():
            if not user:
                raise ConduitError('<local_role> without id')
        object_id = object_id or element.get('id')
        obj = createObject(container, object_id,
                           element.get('portal_type', ''),
                           element.get('meta_type', ''))
        mapping = getXMLMapping(obj)
        current = {pid: (type, value)
                   for pid, type, value in mapping.getPropertyItems()}
        changed = False
        wanted = set()
        for property_id, type, value in values:
            wanted.add(property_id)
            if current.get(property_id, _MISSING) == (type, value):
                continue
            mapping.setProperty(property_id, type, value)
            changed = True
        for property_id in sorted(set(current) - wanted):
            if mapping.deleteProperty(property_id):
                changed = True
        roles = dict(mapping.getLocalRoles())
        for user in sorted(set(roles) | set(parts.roles)):
            new_roles = tuple(sorted(_roles(parts.roles.get(user))))
            if roles.get(user, ()) != new_roles:
                mapping.setLocalRoles(user, new_roles)
                changed = True
        if changed:
            mapping.notifyModified()
        for sub_id, sub in sorted(parts.objects.items()):
            local = obj._getOb(sub_id, None) \
                if getattr(obj, '_getOb', None) is not None else None
            if local is None:
                self.addNode(obj, sub, sub_id)
            else:  # made by the factory: bring it to what the XML says
                self._update(local, getXMLMapping(local).toElement(), sub,
                             (sub_id,), [], force=True, simulate=False)
        return obj

    def updateNode(self, obj, previous_element, new_element, force=False,
                   simulate=False):
        """Apply to ``obj`` what changed from ``previous_element`` to
        ``new_element``; return the list of conflicts (see module doc)."""
        new_element = as_element(new_element)
        validate(new_element)
        if previous_element is None:
            previous_element = empty_like(new_element)
        previous_element = as_element(previous_element)
        conflicts = []
        self._update(obj, previous_element, new_element, (), conflicts,
                     force=force, simulate=simulate)
        return conflicts

    def deleteNode(self, container, object_id):
        """Delete ``object_id`` from ``container`` (needs 'Delete objects')."""
        if container._getOb(object_id, None) is None:
            raise ConduitError('%s has no object %r'
                               % ('/'.join(container.getPhysicalPath()),
                                  object_id))
        check_permission('Delete objects', container,
                         'delete %r' % object_id)
        container.manage_delObjects([object_id])

    # -- conflict resolution ---------------------------------------------------

    def applyValue(self, obj, path, property, element):
        """Apply one value of a conflict to ``obj``.

        ``path``: ids from ``obj`` down to the object concerned.
        ``property``: a property id, ``'local_role:<user>'``, or None for
        the whole sub-object. ``element``: the value's XML (a property
        element, a ``<local_role>`` or an ``<object>``), or None to delete
        the property, the user's local roles or the sub-object.
        """
        path = tuple(path or ())
        if isinstance(element, (bytes, str)):
            element = xmlsafe.parse(element)
        parent, target = None, obj
        for object_id in path:
            if target is None:
                raise ConduitError('no object at %r' % (path,))
            parent, target = target, target._getOb(object_id, None)
        if property is None:
            if not path:
                raise ConduitError('cannot replace or delete the object '
                                   'itself, only sub-objects')
            if element is None:
                if target is not None:
                    self.deleteNode(parent, path[-1])
            elif target is None:
                self.addNode(parent, as_element(element), object_id=path[-1])
            else:
                current = getXMLMapping(target).toElement()
                self._update(target, current, as_element(element), path, [],
                             force=True, simulate=False)
            return
        if target is None:
            raise ConduitError('no object at %r' % (path,))
        mapping = getXMLMapping(target)
        if property.startswith(LOCAL_ROLE_PREFIX):
            mapping.setLocalRoles(property[len(LOCAL_ROLE_PREFIX):],
                                  _roles(element))
        elif element is None:
            mapping.deleteProperty(property)
        else:
            property_id, type, value = from_element(element)
            if property_id != property:
                raise ConduitError('value of %r given for property %r'
                                   % (property_id, property))
            mapping.setProperty(property_id, type, value)
        mapping.notifyModified()

    # -- the three-way comparison ------------------------------------------------

    def _update(self, obj, previous, new, path, conflicts, force, simulate):
        mapping = getXMLMapping(obj)
        prev, incoming = _Parts(previous), _Parts(new)
        current = _Parts(mapping.toElement(recursive=False))
        changed = False

        for property_id in sorted(set(prev.properties) | set(incoming.properties)):
            p = prev.properties.get(property_id)
            n = incoming.properties.get(property_id)
            c = current.properties.get(property_id)
            if _same(p, n) or _same(c, n):
                continue
            if not _same(c, p) and not force:
                conflicts.append(self._conflict(path, property_id, 'property',
                                                p, c, n))
                continue
            if not simulate:
                if n is None:
                    mapping.deleteProperty(property_id)
                else:
                    mapping.setProperty(*from_element(n))
                changed = True

        for user in sorted(set(prev.roles) | set(incoming.roles)):
            p, n, c = prev.roles.get(user), incoming.roles.get(user), \
                current.roles.get(user)
            if _same(p, n) or _same(c, n):
                continue
            if not _same(c, p) and not force:
                conflicts.append(self._conflict(path, LOCAL_ROLE_PREFIX + user,
                                                'local_role', p, c, n))
                continue
            if not simulate:
                mapping.setLocalRoles(user, _roles(n))
                changed = True

        if changed:
            mapping.notifyModified()

        for object_id in sorted(set(prev.objects) | set(incoming.objects)):
            p = prev.objects.get(object_id)
            n = incoming.objects.get(object_id)
            local = obj._getOb(object_id, None) \
                if getattr(obj, '_getOb', None) is not None else None
            sub_path = path + (object_id,)
            if p is not None and n is not None:
                if _same(p, n):
                    continue
                if local is not None:
                    self._update(local, p, n, sub_path, conflicts, force,
                                 simulate)
                elif force:
                    if not simulate:
                        self.addNode(obj, n, object_id)
                else:  # deleted here, changed there
                    conflicts.append(self._conflict(sub_path, None, 'delete',
                                                    p, None, n))
            elif n is not None:  # added there
                if local is None:
                    if not simulate:
                        self.addNode(obj, n, object_id)
                else:
                    self._update(local, empty_like(n), n, sub_path, conflicts,
                                 force, simulate)
            elif local is not None:  # deleted there
                c = getXMLMapping(local).toElement()
                if force or _same(c, p):
                    if not simulate:
                        self.deleteNode(obj, object_id)
                else:
                    conflicts.append(self._conflict(sub_path, None, 'delete',
                                                    p, c, None))

    @staticmethod
    def _conflict(path, property, kind, previous, publisher, subscriber):
        logger.debug('conflict at %r on %r (%s)', path, property, kind)
        return {'path': tuple(path), 'property': property, 'kind': kind,
                'previous_value': _text(previous),
                'publisher_value': _text(publisher),
                'subscriber_value': _text(subscriber)}
