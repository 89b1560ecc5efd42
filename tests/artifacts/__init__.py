"""Fixtures of the artifact tests: the ATT&CK table generator and JSON Schemas written from the
vendors' published formats (each schema names its sources)."""
