"""A sync entry point that still conflicts after Zope's retries answers
503 + Retry-After (the publisher's exception view path); other requests
keep Zope's standard error handling."""
import pytest
from ZODB.POSException import ConflictError
from ZPublisher.HTTPRequest import HTTPRequest
from ZPublisher.WSGIPublisher import _exc_view_created_response

from Products.ERP5SyncML.site.testing import TestEnvironment


@pytest.fixture(scope='module')
def env():
    environment = TestEnvironment()
    environment.setUp()
    yield environment
    environment.tearDown()


def _request(app, path):
    request = app.REQUEST
    request.environ['PATH_INFO'] = path
    request.other['PATH_INFO'] = path
    request['PARENTS'] = [app]
    return request


def test_readresponse_conflict_answers_503_with_retry_after(env):
    with env.app() as app:
        request = _request(app, '/site/portal_synchronizations/readResponse')
        response = request.response
        assert isinstance(request, HTTPRequest)
        assert _exc_view_created_response(ConflictError(), request, response)
        assert response.getStatus() == 503
        assert int(response.getHeader('Retry-After')) > 0


def test_other_conflicts_keep_the_standard_answer(env):
    with env.app() as app:
        request = _request(app, '/site/folder/manage_edit')
        # the view declines: the publisher then handles the error as usual
        with pytest.raises(ConflictError):
            _exc_view_created_response(ConflictError(), request, request.response)
        assert request.response.getStatus() != 503
