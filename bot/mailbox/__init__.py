"""The bot's mailbox: replies from the assistance desk, read over IMAP.

`model` is the seam between the reader (this package: connection, IDLE or
polling, parsing a mail into a `DeskReply`) and the assistance requests
(`handlers/assistance`), which match a reply to its request and queue the
chat messages. The reader marks a mail handled only once `ReplySink.accept`
has returned, that is once the chat messages are committed.

The reader's modules: settings.py (from `[assistance]`; light), service.py (what
bot/app.py starts; imports the rest on first use), reader.py (the loop: read, hand over,
move; IDLE or polling; reconnection), connection.py (one IMAP session, aioimaplib),
parse.py, new_text.py and html_text.py (a mail → DeskReply), folders.py (mailbox names on the wire).
"""
