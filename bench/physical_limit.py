"""The unavoidable work of a first sync, without Zope, CMF or SyncML:
N small persistent objects are written as XML, parsed back, rebuilt as
persistent objects in a second FileStorage and committed.

    .venv/bin/python bench/physical_limit.py [N]    # prints objects/second

``measure(n)`` returns the figures; the benchmarks quote their own
objects/s as a fraction of ``end_to_end`` measured in the same run.
"""
import os
import sys
import tempfile
import time

from lxml import etree


def _props(i):
    return dict(title='Person %d' % i, first_name='Jean%d' % i,
                last_name='Dupont-%d' % (i % 97), email='jean%d@example.org' % i,
                telephone='+33 1 23 45 %02d %02d' % (i // 100 % 100, i % 100),
                description='Customer since %d.\nNotes: line two\n' % (1990 + i % 30),
                language='fr', format='text/plain', birthday='1980-01-01',
                age=20 + i % 60, active=bool(i % 2))


def measure(n):
    import transaction
    import ZODB
    from BTrees.OOBTree import OOBTree
    from ZODB.FileStorage import FileStorage
    from persistent.mapping import PersistentMapping

    with tempfile.TemporaryDirectory(prefix='physical-') as tmp:
        def db(name):
            return ZODB.DB(FileStorage(os.path.join(tmp, name + '.fs')))
        source, target = db('source'), db('target')
        try:
            tm1 = transaction.TransactionManager()
            c1 = source.open(tm1)
            objects = c1.root()['objects'] = OOBTree()
            for i in range(n):
                objects['p%06d' % i] = PersistentMapping(_props(i))
            tm1.commit()
            t0 = time.perf_counter()
            xmls = []
            for object_id, obj in objects.items():
                root = etree.Element('object', id=object_id, portal_type='Person')
                for key in sorted(obj):
                    value = obj[key]
                    child = etree.SubElement(root, key, type=type(value).__name__)
                    child.text = str(value)
                xmls.append(etree.tostring(root, encoding='utf-8'))
            t1 = time.perf_counter()
            tm2 = transaction.TransactionManager()
            c2 = target.open(tm2)
            copies = c2.root()['objects'] = OOBTree()
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            for xml in xmls:
                element = etree.fromstring(xml, parser)
                copies[element.get('id')] = PersistentMapping(
                    {child.tag: child.text for child in element})
            t2 = time.perf_counter()
            tm2.commit()
            t3 = time.perf_counter()
        finally:
            source.close()
            target.close()
    return {'n': n, 'serialize_per_s': n / (t1 - t0), 'parse_build_per_s': n / (t2 - t1),
            'commit_per_s': n / (t3 - t2), 'end_to_end': n / (t3 - t0),
            'seconds': t3 - t0}


if __name__ == '__main__':
    result = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
    print('N=%(n)d: serialize %(serialize_per_s).0f/s, parse+build '
          '%(parse_build_per_s).0f/s, commit %(commit_per_s).0f/s; end-to-end '
          '%(end_to_end).0f obj/s (%(seconds).2f s)' % result)
