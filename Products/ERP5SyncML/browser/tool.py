"""Views of portal_synchronizations: live status (JSON), Sync all, the
schedule form and the report of a synchronization."""
import hmac
import json
from urllib.parse import quote

from Products.CMFActivity import csrf
from Products.Five.browser import BrowserView
from zExceptions import BadRequest
from zExceptions import Forbidden

from ..domain import objectstate
from ..domain import plainwords
from ..domain import reports
from ..domain import schedule
from ..domain import status


def check_post(view):
    """A state-changing view: POST with the user's CSRF token, else 403."""
    request = view.request
    if request.get('REQUEST_METHOD', 'GET').upper() != 'POST':
        raise Forbidden('this action changes data: it needs a POST from its form')
    sent = request.form.get(csrf.FIELD, '')
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf.token(view.context)):
        raise Forbidden('the form has expired or did not come from this site:'
                        ' reload the page and try again')


def back(view, tab, message):
    view.request.response.redirect('%s/%s?manage_tabs_message=%s'
                                   % (view.context.absolute_url(), tab, quote(message)))
    return ''


class StatusView(BrowserView):
    """Every publication and subscription: state, phase, progress, last and
    next sync, counts, queue health (JSON, read-only)."""

    def data(self):
        """The same as a dict, for the Overview tab's first rendering."""
        return status.site_status(self.context)

    def client_conflicts(self):
        """Rows of a client's Conflicts tab: one per conflict it counts."""
        return objectstate.client_conflicts(self.context)

    def __call__(self):
        response = self.request.response
        response.setHeader('Content-Type', 'application/json')
        response.setHeader('Cache-Control', 'no-store')
        return json.dumps(status.site_status(self.context), sort_keys=True)


class SyncAllView(BrowserView):
    """Start one subscription (``id``) or every one that is not running (POST)."""

    def __call__(self):
        check_post(self)
        sub_id = self.request.form.get('id')
        if sub_id:
            self.context.SubSync(sub_id)
            return back(self, 'manage_overview', 'Synchronization of %s started' % sub_id)
        started = self.context.sync()
        return back(self, 'manage_overview',
                    'Synchronization started: %s' % (', '.join(started) or 'none (all running)'))


class ScheduleView(BrowserView):
    """Set a subscription's schedule (POST): every N minutes, after changes."""

    def __call__(self):
        check_post(self)
        form = self.request.form
        sub = self.context.getSubscription(form.get('id', ''))
        if sub is None:
            raise BadRequest('no such subscription')
        schedule.configure(sub, form.get('interval', 0), form.get('after_change'))
        return back(self, 'manage_overview',
                    'Schedule of %s: %s' % (sub.getId(), schedule.describe(sub)))


class ReportView(BrowserView):
    """The last synchronization of a subscription (``id``) or of a
    publication's client (``publication`` and ``subscriber``)."""

    def domain(self):
        form = self.request.form
        tool = self.context
        if form.get('publication'):
            pub = tool.getPublication(form['publication'])
            found = pub.getSubscriber(form.get('subscriber', '')) if pub else None
        else:
            found = tool.getSubscription(form.get('id', ''))
        if found is None:
            raise BadRequest('no such subscription or client')
        return found

    def report(self):
        domain = self.domain()
        report = domain.getReport()
        counts = report.get('counts') or {}
        on_client = domain.meta_type == 'ERP5SyncML Subscription'
        out, into = ('to the master', 'from the master') if on_client else \
            ('to the client', 'from the client')
        session = domain.session
        moved = getattr(session, 'moved', {}) if session is not None else {}
        ways = [(label, [(word, counts.get(prefix + key, 0),
                          self._objects(domain, moved.get(prefix + key, ()), key))
                         for key, word in (('add', 'added'), ('replace', 'changed'),
                                           ('delete', 'deleted'))])
                for prefix, label in (('sent_', out), ('received_', into))]
        errors = [(gid, plainwords.plain_object_error(detail), detail)
                  for gid, detail in moved.get('errors', ())]
        try:
            folder_url = domain.getDestination().absolute_url()
        except Exception:
            folder_url = None
        failed = report['status'] in ('failed', 'retrying')
        return {
            'title': ('Subscription %s' % domain.getId()) if on_client else
                     ('Client %s of publication %s' % (domain.subscription_url,
                                                       domain.aq_parent.getId())),
            'status': report['status'],
            'date': reports.format_date(report.get('date')),
            'ways': ways,
            'messages': (counts.get('messages_sent', 0), counts.get('messages_received', 0)),
            'bytes': (counts.get('bytes_sent', 0), counts.get('bytes_received', 0)),
            'conflicts': domain.getConflictCount(),
            'errors': counts.get('errors', 0),
            'error_list': errors,
            'plain': plainwords.plain(report.get('reason')) if failed else '',
            'detail': report.get('reason') or '',
            'folder_url': folder_url,
        }

    def _objects(self, domain, listed, key):
        """[(label, URL or None)] of the objects a report lists."""
        result = []
        for gid, _detail in listed:
            obj = None
            if key != 'delete':
                try:
                    obj = domain.getObjectFromGid(gid)
                except Exception:  # noqa: BLE001 -- a link is a convenience
                    obj = None
            result.append((gid, obj.absolute_url() + '/@@sync-state'
                           if obj is not None else None))
        return result
