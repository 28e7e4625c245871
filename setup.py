"""ERP5SyncML for Zope 6: SyncML synchronization of Zope/CMF sites."""
from setuptools import find_namespace_packages
from setuptools import setup

setup(
    name='Products.ERP5SyncML',
    version='1.0.dev0',
    description='SyncML synchronization of Zope/CMF folders over HTTP and e-mail',
    long_description=open('README.txt', encoding='utf-8').read(),
    license='GPL-2.0-or-later',
    python_requires='>=3.11',
    packages=find_namespace_packages(include=['Products.*']),
    include_package_data=True,
    package_data={'': ['*.zcml', '*.xml', '*.pt', '*.zpt', '*.txt', '*.py',
                       '*.png', '*.gif', '*.css', '*.js', '*.metadata',
                       'zope_tic_loop']},
    zip_safe=False,
    install_requires=[
        'Zope>=6',
        'Products.CMFCore>=3.9',
        'Products.GenericSetup',
        'Products.MailHost',
        'Products.PythonScripts',
        'lxml',
        'erp5diff',
        'xupdate-processor',
        'python-gnupg',
        'vobject',
        'requests',
    ],
    entry_points={
        'console_scripts': [
            'zope_tic_loop = Products.CMFActivity.ticloop:main',
            'sendMailToZope = Products.CMFMailIn.sendMailToZope:main',
        ],
    },
    classifiers=[
        'Framework :: Zope :: 6',
        'License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)',
        'Programming Language :: Python :: 3.11',
    ],
)
