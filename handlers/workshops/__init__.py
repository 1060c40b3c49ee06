"""Ateliers and cafés numériques: announcing, sign-ups, reminders, attendance.

- `commands.py`: the router of `!atelier` (and its sub-commands), `!cafe`, `!ateliers`;
- `signups.py`: the router of `!inscription`, `!desinscription` and the 👍 reactions;
- `reminders.py`: the router of the periodic jobs (reminders, minimum check, places
  shown on the notices);
- `attendance.py`: `!atelier presents`, and the feedback poll;
- `from_poll.py`: `!atelier depuis-sondage`;
- `common.py`: what they share (finding a workshop, the notice and its .ics, who is
  told where);
- `args.py`: the arguments, dates included, parsed before the handler;
- `texts.py`: what teachers read.

Imports go one way: commands → attendance, from_poll; every module → common → texts;
commands, signups → args. Other features are reached through `handlers.polls.start_poll`
and `handlers.announcements.publishing`. This module imports nothing, so importing it
never makes a cycle.
"""
