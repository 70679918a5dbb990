"""Party use cases: restricted lists, screening and the stored ownership graph.

Names, scores and graph rules are pure (``chiptrail.parties``); this package loads and stores them.
"""
