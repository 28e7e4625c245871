"""Object <-> XML mapping (asXML) adapters."""
