"""One object's synchronization state in every publication subscriber and
subscription of its site, with a side-by-side comparison of its XML."""
from lxml import etree

from . import signature as sigstates
from . import xmldata

NEVER_SENT = 'never sent'
SYNCHRONIZED = 'synchronized'
CHANGED_HERE = 'changed here'
CHANGED_THERE = 'changed there'
CONFLICT = 'conflict'
SENT = 'sent, not yet confirmed'

EXPLAIN = {
    NEVER_SENT: 'this peer has never received the object',
    SYNCHRONIZED: 'both sites hold the same version',
    CHANGED_HERE: 'changed on this site since the last synchronization: '
                  'the next one sends it',
    CHANGED_THERE: 'the peer sent a version that is not applied yet',
    CONFLICT: 'changed on both sites: a choice is needed on the master',
    SENT: 'sent to the peer, which has not confirmed it yet',
}


def _domains(tool):
    for pub in tool.getPublicationList():
        for subscriber in pub.getSubscriberList():
            yield ('subscriber', pub.getId(), subscriber.subscription_url, subscriber)
    for sub in tool.getSubscriptionList():
        yield ('subscription', sub.getId(), sub.publication_url, sub)


def _top(domain, path):
    """Physical path of the synchronized object that holds ``path``, or None."""
    try:
        prefix = domain.getPhysicalRoot().getPhysicalPath() + \
            domain.getDestinationPathTuple()
    except ValueError:
        return None
    if path[:len(prefix)] != prefix or len(path) <= len(prefix):
        return None
    return path[:len(prefix) + 1]


def object_states(tool, obj):
    """[dict(kind, domain, peer, state, explain, left, right, left_title,
    right_title)] for ``obj`` (or the synchronized object holding it) in
    every domain of ``tool`` whose folder holds it. ``left``/``right``: the
    XML to compare when the state is a change or a conflict, else ''."""
    path = obj.getPhysicalPath()
    result = []
    for kind, domain_id, peer, domain in _domains(tool):
        top_path = _top(domain, path)
        if top_path is None:
            continue
        top = domain.getPhysicalRoot().unrestrictedTraverse(top_path, None)
        result.append(dict(kind=kind, domain=domain_id, peer=peer,
                           **_state(domain, top, top_path[-1])))
    return result


def _state(domain, obj, object_id):
    sig = domain.signatures.getByObjectId(object_id)
    current = ''
    if obj is not None:
        gid = sig.gid if sig is not None else domain.getGidFromObject(obj)
        current = _text(xmldata.object_xml(domain, obj, gid))
    state, left, right = NEVER_SENT, '', ''
    titles = ('last agreed version', 'this site now')
    if sig is not None:
        agreed = _text(sig.xml)
        if sig.conflicts or sig.status == sigstates.CONFLICT:
            state = CONFLICT
            left, right = current, _text(_peer_version(sig, current))
            titles = ('this site now', "the peer's version")
            if not sig.conflicts:  # a client: the master holds the values
                left, right = agreed, current
                titles = ('last agreed version', 'this site now')
        elif sig.status == sigstates.SENT:
            state = SENT
            left, right = agreed, _text(sig.temp_xml) or current
            titles = ('last agreed version', 'sent version')
        elif sig.status == sigstates.NOT_SYNCHRONIZED and sig.temp_xml \
                and sig.temp_xml != sig.xml:
            state = CHANGED_THERE
            left, right = agreed, _text(sig.temp_xml)
            titles = ('last agreed version', "the peer's version")
        elif agreed and current != agreed:
            state = CHANGED_HERE
            left, right = agreed, current
        else:
            state = SYNCHRONIZED
    return dict(state=state, explain=EXPLAIN[state], left=left, right=right,
                left_title=titles[0], right_title=titles[1],
                gid=sig.gid if sig is not None else None)


def _text(xml):
    if not xml:
        return ''
    return xml.decode('utf-8') if isinstance(xml, bytes) else xml


def _peer_version(sig, current):
    """The object's XML with the peer's value of each open conflict."""
    if not current:
        return ''
    root = xmldata.parse(current.encode('utf-8'))
    for record in sig.conflicts:
        if record.get('path'):
            continue  # a sub-object's property: shown in the Conflicts tab
        value = record.get('subscriber_value')
        new = xmldata.parse(value) if value else None
        old = _child(root, _key_of(new) if new is not None else None,
                     record['property'])
        if old is not None and new is not None:
            old.getparent().replace(old, new)
        elif old is not None:
            root.remove(old)
        elif new is not None:
            root.append(new)
    return xmldata.serialize(root)


def _key_of(element):
    return (element.tag, element.get('id'))


def _child(root, key, prop):
    for child in root:
        if (key is not None and _key_of(child) == key) or child.get('id') == prop \
                or child.tag == prop:
            return child
    return None


def diff_rows(left, right):
    """[(name, left text, right text, changed)] of the children of two
    object XML documents, matched by tag and id, in document order."""
    lefts = _children(left)
    rights = _children(right)
    keys = list(lefts) + [k for k in rights if k not in lefts]
    rows = []
    for key in keys:
        a, b = lefts.get(key, ''), rights.get(key, '')
        name = key[0] if not key[1] else '%s %s' % key
        rows.append((name, a, b, a != b))
    return rows


def _children(xml):
    if not xml:
        return {}
    try:
        root = xmldata.parse(xml.encode('utf-8'))
    except Exception:
        return {('document', None): xml}
    result = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue
        key = (etree.QName(child).localname, child.get('id'))
        text = etree.tostring(child, encoding='unicode', with_tail=False)
        result[key] = text.strip()
    return result


def client_conflicts(tool):
    """[dict(subscription, object_id, path, gid, properties)] of the objects
    each subscription's master reported in conflict; as many rows as the
    subscription's conflict count."""
    rows = []
    for sub in tool.getSubscriptionList():
        folder = None
        try:
            folder = sub.getDestination()
        except (ValueError, KeyError, AttributeError):
            pass
        for sig in sub.signatures.conflictSignatures():
            obj = folder._getOb(sig.object_id, None) if folder is not None else None
            records = list(sig.conflicts) or [None]
            for record in records:
                rows.append(dict(
                    subscription=sub.getId(), object_id=sig.object_id,
                    gid=sig.gid, obj=obj,
                    property=record['property'] if record else '',
                    master=sub.publication_url))
    return rows
