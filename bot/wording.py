"""French wording shared by the bot's texts."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """« 0 salon », « 1 salon », « 3 salons »: in French 0 and 1 take the singular; the
    plural is the singular with an s unless given (« propositions triées »)."""
    return f"{number} {singular if number <= 1 else (plural or singular + 's')}"
