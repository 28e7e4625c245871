"""An object's Sync tab: its state with every peer, and for a change or a
conflict the two versions side by side with the changed properties marked."""
from Products.CMFCore.utils import getToolByName
from Products.Five.browser import BrowserView

from ..domain import objectstate


class SyncStateView(BrowserView):
    """State of the object in every publication and subscription."""

    def tool(self):
        return getToolByName(self.context, 'portal_synchronizations', None)

    def states(self):
        tool = self.tool()
        if tool is None:
            return []
        result = []
        for row in objectstate.object_states(tool, self.context):
            row = dict(row)
            row['rows'] = objectstate.diff_rows(row['left'], row['right']) \
                if (row['left'] or row['right']) else []
            result.append(row)
        return result

    def conflicts(self):
        """Conflicts of this object only (on the master), to resolve them."""
        tool = self.tool()
        if tool is None:
            return []
        return tool.getConflictList(self.context)

    def token(self):
        """The CSRF token of the tool's forms."""
        from Products.CMFActivity import csrf
        return csrf.token(self.tool())

    def tool_url(self):
        return self.tool().absolute_url()
