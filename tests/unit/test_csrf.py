"""CSRF protection of state-changing methods (Products.CMFActivity.csrf)."""
import pytest
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from AccessControl.users import SimpleUser
from OFS.SimpleItem import SimpleItem
from zExceptions import Forbidden

from Products.CMFActivity import csrf


class Tool(SimpleItem):
    id = 'tool'

    def change(self, REQUEST=None):
        csrf.protect(self, REQUEST)
        return 'changed'


class Request(dict):
    def __init__(self, method, form, published):
        super().__init__(REQUEST_METHOD=method, PUBLISHED=published)
        self.form = form


@pytest.fixture
def user():
    newSecurityManager(None, SimpleUser('alice', '', ['Manager'], []))
    yield
    noSecurityManager()


def test_python_calls_are_not_checked(user):
    tool = Tool()
    other = Tool()
    assert tool.change() == 'changed'
    # a request publishing another object's method is not a web call of this one
    assert tool.change(Request('GET', {}, other.change)) == 'changed'


def test_web_call_needs_post_and_the_token(user):
    tool = Tool()
    with pytest.raises(Forbidden, match='POST'):
        tool.change(Request('GET', {csrf.FIELD: csrf.token(tool)}, tool.change))
    with pytest.raises(Forbidden, match='expired'):
        tool.change(Request('POST', {}, tool.change))
    with pytest.raises(Forbidden, match='expired'):
        tool.change(Request('POST', {csrf.FIELD: 'x' * 64}, tool.change))
    with pytest.raises(Forbidden):
        tool.change(Request('POST', {csrf.FIELD: ['a', 'b']}, tool.change))
    assert tool.change(Request('POST', {csrf.FIELD: csrf.token(tool)},
                               tool.change)) == 'changed'


def test_tokens_differ_by_user_and_by_object(user):
    tool, other = Tool(), Tool()
    alice = csrf.token(tool)
    assert alice == csrf.token(tool)
    assert alice != csrf.token(other)
    newSecurityManager(None, SimpleUser('bob', '', ['Manager'], []))
    assert csrf.token(tool) != alice
    with pytest.raises(Forbidden):
        tool.change(Request('POST', {csrf.FIELD: alice}, tool.change))
