"""Interfaces of Products.CMFActivity."""
from zope.interface import Interface


class IActivityTool(Interface):
    """portal_activities: deferred method calls run by processing nodes."""

    def distribute(node_count=1):
        """Give waiting messages to processing nodes 1..node_count."""

    def tic(processing_node=1):
        """Run the runnable messages of a node; return a text summary."""

    def processAll(max_messages=None, max_rounds=100, processing_node=1):
        """distribute + tic until nothing is runnable; return counts."""

    def hasActivity(obj=None, method_id=None, tag=None, only_valid=False):
        """Is a matching message queued (stored or in this transaction)?"""

    def hasErrorActivity(obj=None, method_id=None):
        """Is a matching message in error state?"""

    def getMessageList(**kw):
        """Stored messages, by priority then date, optionally filtered."""

    def getFailedMessageList():
        """Stored messages in error state."""

    def countMessage(**kw):
        """Number of stored messages matching the filters."""

    def manageInvoke(uid):
        """Run one message now."""

    def manageCancel(uid):
        """Delete one message."""

    def manageRetry(uid):
        """Put a message back in the queue with a fresh retry count."""
