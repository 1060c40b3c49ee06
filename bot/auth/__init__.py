"""How the bot obtains and keeps its Matrix session, without nio.

- `http`: the few JSON and form requests, over aiohttp.
- `refresh` / `tokens`: short-lived access tokens renewed before they expire.
- `login`: which session `rupn-bot run` uses (stored, operator token, password).
- `discovery`, `device_flow`, `connexion`: the interactive `rupn-bot connexion`.
"""
