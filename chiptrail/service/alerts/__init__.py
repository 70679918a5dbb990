"""Alert use cases: running the rules over the store, findings, cases, triage and the report.

The rules themselves are pure (``chiptrail.rules``); this package feeds them the stored world.
"""
