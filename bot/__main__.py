"""``python -m bot``: same as the ``rupn-bot`` command."""

from bot.cli import main

raise SystemExit(main())
