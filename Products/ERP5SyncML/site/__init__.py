"""CMF site factory, GenericSetup profiles and demo content types.

  factory.add_site(container, site_id, title='', demo=False, demo_content=None)
                           a new 'ERP5SyncML Site' (profile
                           Products.ERP5SyncML:default, plus :demo)
  factory.install_tools(site, tool_ids=None)
                           add MailHost, portal_activities,
                           portal_synchronizations to any CMF site
  factory.apply_profile(site, profile_id)
                           run a profile (no purge: safe to repeat)
  factory.using_site(site) context manager around setSite
  content.Module, content.Person
                           demo types (portal types 'Module', 'Person')
  demo.populate(site)      sample persons in portal_repository
  testing.TestEnvironment  in-process CMF test set-up without starting Zope
"""
