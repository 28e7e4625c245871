"""What the last sessions did, and where each object stands, for the ZMI
and for scripts."""
import json
import time

from . import signature as sigstates
from . import xmldata


def sync_report(sub):
    """The last report of subscription ``sub`` as JSON (status, reason,
    date, counts, session state, open conflicts)."""
    report = dict(sub.getReport())
    session = sub.session
    report['session_state'] = session.state if session is not None else None
    report['conflicts'] = sub.getConflictCount()
    return json.dumps(report, sort_keys=True)


def synchronization_state(tool, obj):
    """[(peer URL, state)] of ``obj`` in every publication subscriber and
    subscription of ``tool`` whose folder holds it."""
    path = obj.getPhysicalPath()
    domains = [(s.subscription_url, s) for p in tool.getPublicationList()
               for s in p.getSubscriberList()]
    domains += [(s.publication_url, s) for s in tool.getSubscriptionList()]
    result = []
    for url, domain in domains:
        try:
            prefix = domain.getDestinationPathTuple()
        except ValueError:
            continue
        prefix = domain.getPhysicalRoot().getPhysicalPath() + prefix
        if path[:len(prefix)] != prefix or len(path) <= len(prefix):
            continue
        result.append((url, _state(domain, path[:len(prefix) + 1])))
    return result


def _state(domain, top_path):
    sig = domain.signatures.getByObjectId(top_path[-1])
    if sig is None:
        return sigstates.NOT_SYNCHRONIZED
    if sig.conflicts or sig.status == sigstates.CONFLICT:
        return sigstates.CONFLICT
    if sig.status == sigstates.SYNCHRONIZED and _changed_since(domain, sig, top_path):
        return sigstates.NOT_SYNCHRONIZED  # edited here since
    return sig.status


def _changed_since(domain, sig, top_path):
    obj = domain.getPhysicalRoot().unrestrictedTraverse(top_path, None)
    if obj is None:
        return True
    return xmldata.object_xml(domain, obj, sig.gid) != sig.xml


def format_date(stamp):
    if not stamp:
        return ''
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(stamp))
