"""`!mesdonnees [effacer]`: what the bot holds about the asker, erasure, and the retention.

- `commands.py`: the router of `!mesdonnees`;
- `jobs.py`: the router of the jobs (answers in direct rooms, the retention);
- `common.py`: what they share (direct rooms, reader keys, the erasure itself);
- `texts.py`: what teachers read.

Decisions:
- `!mesdonnees` is about the person, not a school: in a shared deployment the answer
  lists their data in every établissement, each under its name (the right of access is
  the person's, wherever the data is; nobody else's data is shown), whichever school's
  room it is typed in, and also in a direct room of a teacher of several schools (a
  `personal` command). The requests job is the bot's, not a school's.
- `!mesdonnees effacer` erases the person in every school: each school's sign-ups to
  come are withdrawn with that school's settings, its waiting list moves up and its
  first is told in that school's rooms (privately if possible), never in the room of
  the command of another school.
- The answer goes to a direct room with only the bot and the asker: at once when the
  command is typed in one; otherwise a `privacy_requests` row is kept, the job
  `donnees-demandes` opens the room (network, before its unit) and answers once the
  person has joined it; the shared room gets a one-line pointer that quotes nothing.
  If the person declined (or left) the direct room on record, a new `!mesdonnees`
  forgets it, and the job opens a new one: a new invite.
- `!mesdonnees effacer` erases at once, in the command's transaction. First what still
  counts as the person's live choice is withdrawn: their responses to open polls, their
  sign-ups to workshops to come (the waiting list moves up, as with `!desinscription`).
  Then user ids become a random token drawn for this erasure (`anonyme:…`, never derived
  from the user id; the same in every rewritten row, so that past counts and tallies
  stay right), the ids of the events they sent go (a redaction of an old 👍 or vote then
  matches nothing), their read markers of every school year are deleted. The
  confirmation goes where the answer would, neither a reply nor a mention; once it is
  queued, the request, the requester of the posts up to the request and the record of
  the direct room the confirmation went to are forgotten too (`close_erasure`), so that
  no table holds the user id any more. What the person does after the request (a direct
  room opened since for the reminders included) is theirs again.
- A request nobody could answer (the invite never accepted) is dropped after
  `REQUEST_KEPT_FOR`; an erasure is then closed all the same.
- Opening a direct room is tried at each tick for a minute, then every
  `OPEN_RETRY_EVERY`: a homeserver that refuses is not asked every few seconds.
- Retention: the job `donnees-conservation` ticks hourly and acts once per local day
  (the day is kept in `bot_state`): every personal column (bot/storage/privacy/
  columns.py) of the rows older than `[privacy] retention_months` (12 at least) is
  anonymised, the content of the bot's old posts pruned; read markers of the school year
  under way are kept until it ends; it logs the counts, never a user id nor a text.
"""
