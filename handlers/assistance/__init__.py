"""Assistance requests (`!panne`, issue 19): a teacher reports a breakdown in one line, the
helpdesk gets a ticket by mail, its answers come back in chat.

commands.py (`!panne`, `!pannes`), args.py (parsing), ticket.py (the mails to the desk),
replies.py (the desk's answers: the mailbox reader's `ReplySink`), followup.py (requests
without news), texts.py (French texts).
"""
