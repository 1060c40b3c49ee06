"""`!atelier`, `!cafe`, `!ateliers`, sign-ups, reminders and attendance."""
