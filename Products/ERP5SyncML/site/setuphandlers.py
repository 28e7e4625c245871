"""GenericSetup import steps of the ERP5SyncML profiles.

Steps are global; each acts only for profiles holding its marker file.
"""
from .demo import create_modules
from .factory import install_tools

TOOLS_MARKER = 'erp5syncml_tools.txt'
DEMO_MARKER = 'erp5syncml_demo.txt'


def importTools(context):
    """Add and register the missing ERP5SyncML tools (never replaces)."""
    if context.readDataFile(TOOLS_MARKER) is None:
        return
    created = install_tools(context.getSite())
    context.getLogger('erp5syncml-tools').info(
        'ERP5SyncML tools added: %s', ', '.join(created) or 'none')


def importDemo(context):
    """Add the missing demo modules (portal_repository, person_module)."""
    if context.readDataFile(DEMO_MARKER) is None:
        return
    created = create_modules(context.getSite())
    context.getLogger('erp5syncml-demo').info(
        'Demo modules added: %s', ', '.join(created) or 'none')
