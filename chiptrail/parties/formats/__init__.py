"""Parsers for restricted-party list files; each takes bytes and returns a ``PartySet``.

No I/O: the edges read files or download them and pass the bytes in.
"""
