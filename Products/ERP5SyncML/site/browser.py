"""Default view of folderish content and of the portal.

CMFCore 3 ships no skins with views, so without this a GET on a folder is
a 404.
"""
from Products.Five.browser import BrowserView


class Listing(BrowserView):
    """Plain text: one content id per line, sorted."""

    def __call__(self):
        self.request.response.setHeader('Content-Type',
                                        'text/plain; charset=utf-8')
        return ''.join(i + '\n' for i in sorted(self.context.contentIds()))
