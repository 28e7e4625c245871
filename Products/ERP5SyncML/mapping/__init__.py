"""Object <-> XML mapping (asXML) adapters.

Public API::

    getXMLMapping(obj) -> IXMLMapping     (TypeError if obj has none)
    queryXMLMapping(obj) -> IXMLMapping or None
    asXML(obj) -> str                     the object's canonical XML
    serialize(element) -> bytes           canonical bytes of any object XML
    createObject(container, object_id, portal_type, meta_type) -> object
    to_element / from_element             typed property values
"""
from zope.component import queryAdapter

from ..interfaces import IXMLMapping
from .serializer import serialize  # noqa: F401
from .values import PropertyValueError  # noqa: F401
from .values import from_element  # noqa: F401
from .values import to_element  # noqa: F401


def queryXMLMapping(obj):
    """The XML mapping of ``obj`` (the registered adapter, else the
    built-in one for its class), or None."""
    mapping = queryAdapter(obj, IXMLMapping)
    if mapping is None:
        from .adapters import default_mapping
        mapping = default_mapping(obj)
    return mapping


def getXMLMapping(obj):
    """The XML mapping of ``obj``; TypeError if there is none."""
    mapping = queryXMLMapping(obj)
    if mapping is None:
        raise TypeError('no XML mapping for %r (meta_type %r)'
                        % (obj, getattr(obj, 'meta_type', None)))
    return mapping


def asXML(obj):
    """The canonical XML of ``obj`` and its sub-objects, as str."""
    return getXMLMapping(obj).asXML()


def createObject(container, object_id, portal_type, meta_type):
    """Create an empty object of the given type in ``container``."""
    from .factories import createObject as create
    return create(container, object_id, portal_type, meta_type)
