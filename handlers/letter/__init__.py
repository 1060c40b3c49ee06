"""The weekly letter: `!lettre` (commands.py) and its weekly job (weekly.py).

The letter itself is built by the pipeline in digests/ (collect → build → render →
send); this package decides when, for whom, and answers the RUPN.
"""
