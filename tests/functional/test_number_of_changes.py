"""Our Sync announces NumberOfChanges (SyncML 1.1+) when it carries all
of its changes: the real SyncEvolution client reads the count."""
import re

import pytest

from test_syncevolution_server import Master
from test_syncevolution_server import client_for
from test_syncevolution_server import names

pytestmark = pytest.mark.functional


def _announced(log):
    return re.findall(r'NumberOfChanges announced by remote = (\d+)',
                      re.sub('<[^>]*>', '', log))


def test_syncevolution_reads_our_number_of_changes(zope, tmp_path):
    master = Master(zope)
    for i, name in enumerate(('Grace', 'Alan', 'Ada')):
        master.add(name.lower(), first_name=name, last_name='X%d' % i,
                   title='%s X%d' % (name, i))
    client = client_for(master, tmp_path)
    run = client.sync('slow')
    assert run.returncode == 0, run.describe()
    assert sorted(names(client)) == ['Ada X2', 'Alan X1', 'Grace X0']
    assert _announced(run.log) == ['3'], run.describe()
