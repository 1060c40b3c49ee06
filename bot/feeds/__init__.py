"""Feed ingestion core for the news watch: fetching (conditional GET) and parsing.

No database, no Matrix here: `fetch.fetch_feed` gets bytes politely,
`parse.parse_feed` turns them into sanitised, shortened entries.
"""
