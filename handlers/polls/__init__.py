"""`!sondage`: native Matrix polls (MSC3381), their deadlines, reminders and results."""
