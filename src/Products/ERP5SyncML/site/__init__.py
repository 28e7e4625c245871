"""CMF site factory, GenericSetup profiles and demo content types."""
