"""One publication or subscription per page: help under each field,
checks on save with the error beside the field and the values kept, Test
connection, and a confirmation before Delete and Reset."""
from urllib.parse import quote

from Products.Five.browser import BrowserView
from zExceptions import BadRequest

from ..domain import authentication
from ..domain import probe
from ..domain import validation
from ..domain.publication import Publication
from ..domain.subscription import SYNC_MODES
from ..domain.subscription import Subscription
from .tool import back
from .tool import check_post

KINDS = {'publication': Publication, 'subscription': Subscription}


class DomainForm(BrowserView):
    """``@@sync-form?kind=subscription&id=...`` (no id: add one)."""

    errors = {}
    account_errors = {}
    account_values = {}
    findings = ()
    confirm = None

    def __call__(self):
        form = self.request.form
        self.kind = form.get('kind', 'subscription')
        if self.kind not in KINDS:
            raise BadRequest('kind must be publication or subscription')
        self.klass = KINDS[self.kind]
        self.existing = self._existing(form.get('id', ''))
        self.values = self._current()
        action = form.get('action')
        if action:
            check_post(self)
            result = self._act(action, form)
            if result is not None:
                return result
        return self.index()

    # -- what the template shows -------------------------------------------

    def title(self):
        if self.existing is None:
            return 'Add a %s' % self.kind
        return '%s %s' % (self.kind.capitalize(), self.existing.getId())

    def fields(self):
        """[dict(name, title, type, value, help, error)] of the form."""
        result = []
        names = [('id', 'Id', 'id', '')] if self.existing is None else []
        for name, title, ftype, _default in list(names) + list(self.klass.fields):
            value = self.values.get(name, '')
            result.append(dict(
                name=name, title=title, type=ftype,
                value='' if ftype == 'password' else ('' if value is None else str(value)),
                help=validation.HELP.get(name, ''), error=self.errors.get(name)))
        return result

    def accounts(self):
        """[(login, Zope user id)] of an existing publication, else None."""
        if self.kind != 'publication' or self.existing is None:
            return None
        return sorted(self.existing.getSyncMLAccountList())

    def sync_modes(self):
        return SYNC_MODES

    def token(self):
        from Products.CMFActivity import csrf
        return csrf.token(self.context)

    # -- actions -------------------------------------------------------------

    def _existing(self, id):
        if not id:
            return None
        getter = (self.context.getSubscription if self.kind == 'subscription'
                  else self.context.getPublication)
        found = getter(id)
        if found is None:
            raise BadRequest('no %s %r' % (self.kind, id))
        return found

    def _current(self):
        if self.existing is None:
            return {name: default for name, _t, _y, default in self.klass.fields}
        return {name: getattr(self.existing, name, default)
                for name, _t, _y, default in self.klass.fields}

    def _posted(self, form):
        names = {f[0] for f in self.klass.fields}
        values = {k: v for k, v in form.items() if k in names}
        if self.existing is None:
            values['id'] = (form.get('new_id') or '').strip()
        if 'sync_mode' in values:
            values['sync_mode'] = int(values['sync_mode'])
        return values

    def _act(self, action, form):
        tool = self.context
        if action in ('delete', 'reset'):
            if self.existing is None:
                raise BadRequest('nothing to %s' % action)
            if form.get('confirmed') != 'yes':
                self.confirm = action
                return None
            return self._delete_or_reset(action)
        if action in ('add_account', 'remove_account'):
            if self.kind != 'publication' or self.existing is None:
                raise BadRequest('SyncML accounts belong to a publication')
            return getattr(self, '_' + action)(form)
        posted = self._posted(form)
        self.values.update(posted)
        if action == 'test':
            self.findings = probe.test_connection(
                validation.preview(self.klass, posted, self.existing))
            return None
        if action != 'save':
            raise BadRequest('unknown action %r' % action)
        self.errors = validation.errors_of(
            tool, self.klass, posted, self.existing,
            reachable=form.get('skip_reachable') != '1')
        if self.errors:
            return None
        if self.existing is None:
            new_id = posted.pop('id')
            add = (tool.manage_addSubscription if self.kind == 'subscription'
                   else tool.manage_addPublication)
            add(new_id, **posted)
            return back(self, 'manage_overview', '%s %s added' % (self.kind.capitalize(), new_id))
        if not posted.get('password'):
            posted.pop('password', None)
        edit = (tool.manage_editSubscription if self.kind == 'subscription'
                else tool.manage_editPublication)
        edit(self.existing.getId(), **posted)
        return back(self, 'manage_overview', '%s %s changed'
                    % (self.kind.capitalize(), self.existing.getId()))

    def _back_here(self, message):
        self.request.response.redirect(
            '%s/@@sync-form?kind=publication&id=%s&manage_tabs_message=%s' % (
                self.context.absolute_url(), quote(self.existing.getId()),
                quote(message)))
        return ''

    def _add_account(self, form):
        login = form.get('account_login', '')
        user_id = form.get('account_user', '')
        password = form.get('account_password', '')
        again = form.get('account_password2', '')
        if not all(isinstance(v, str) for v in (login, user_id, password, again)):
            raise BadRequest('account fields must be text')
        login, user_id = login.strip(), user_id.strip()
        self.account_values = {'account_login': login, 'account_user': user_id}
        errors = {}
        if not login or ':' in login or len(login) > 100:
            errors['account_login'] = 'A login is required, without ":" (100 characters at most).'
        if not password:
            errors['account_password'] = 'A password is required.'
        elif password != again:
            errors['account_password2'] = 'The two passwords differ.'
        if not user_id:
            errors['account_user'] = 'Name the Zope user the synchronization runs as.'
        elif authentication.session_user(self.context, user_id) is None:
            errors['account_user'] = 'No Zope user with this id in the site or the root user folder.'
        if errors:
            self.account_errors = errors
            return None
        self.existing.setSyncMLAccount(login, password, user_id)
        return self._back_here('SyncML account %s added (runs as %s)' % (login, user_id))

    def _remove_account(self, form):
        login = form.get('account_login', '')
        if not isinstance(login, str) or login not in dict(
                self.existing.getSyncMLAccountList()):
            raise BadRequest('no such SyncML account')
        self.existing.delSyncMLAccount(login)
        return self._back_here('SyncML account %s removed' % login)

    def _delete_or_reset(self, action):
        tool = self.context
        id = self.existing.getId()
        method = 'manage_%s%s' % (action, self.kind.capitalize())
        getattr(tool, method)(id)
        done = 'deleted' if action == 'delete' else 'reset'
        return back(self, 'manage_overview', '%s %s %s' % (self.kind.capitalize(), id, done))
