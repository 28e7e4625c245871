"""ZMI views of ERP5SyncML: the Overview's live status, Sync all, the
schedule form, the report of a synchronization and an object's Sync tab."""
