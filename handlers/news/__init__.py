"""`!veille`: the news watch (RSS/Atom feeds), its proposals and their curation."""
