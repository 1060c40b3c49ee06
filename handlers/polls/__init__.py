"""`!sondage`: native Matrix polls (MSC3381), their deadlines, reminders and results.

- `commands.py`: the router, `!sondage` and its sub-commands, the responses;
- `args.py`: `!sondage`'s arguments, parsed before the handler (dates included);
- `lifecycle.py`: starting and closing a poll, shared by commands, jobs, features;
- `deadlines.py`: the job that closes polls at their deadline and sends reminders;
- `texts.py`: what the polls show (start event, results, reminder, CSV export).

Other features start a poll with `start_poll` only. This module imports
nothing but its own submodules, so importing it never creates a cycle.
"""

from __future__ import annotations

from handlers.polls.lifecycle import start_poll

__all__ = ["start_poll"]
