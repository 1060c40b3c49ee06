"""The ``[[feeds]]`` entries: the news sources watched by the bot."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.config.fields import check_feed_url


class FeedSettings(BaseModel):
    """One ``[[feeds]]`` entry: a news source watched by the bot."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    url: Annotated[str, AfterValidator(check_feed_url)]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    auto_publish: bool = False
