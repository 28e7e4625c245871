"""``.../object/asXML`` over HTTP, for every object with an XML mapping."""
from Products.Five.browser import BrowserView
from zExceptions import NotFound

from .serializer import serialize


class AsXMLView(BrowserView):
    """The object's canonical XML (text/xml, UTF-8)."""

    def __call__(self):
        from . import queryXMLMapping
        mapping = queryXMLMapping(self.context)
        if mapping is None:
            raise NotFound('%s has no XML mapping'
                           % getattr(self.context, 'meta_type', 'object'))
        body = serialize(mapping.toElement())
        self.request.response.setHeader('Content-Type',
                                        'text/xml; charset=utf-8')
        return body
