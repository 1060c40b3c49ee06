"""Fetch a feed over HTTP with conditional GET, a timeout and a size limit."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bot import __version__

USER_AGENT = f"rupn-bot/{__version__} (+https://github.com/rupn-bot)"
MAX_BODY_BYTES = 5 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024


class FeedFetchError(Exception):
    """The feed could not be fetched; `reason` is for logs, not for users."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Outcome of one fetch. `status == 304` means unchanged and `body is None`."""

    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    final_url: str
    bytes_received: int
    content_type: str | None = None


async def fetch_feed(
    session: aiohttp.ClientSession,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    timeout_s: float = 20,
    max_bytes: int = MAX_BODY_BYTES,
) -> FetchResult:
    """GET `url`, conditionally when validators from the previous fetch are given.

    Raises FeedFetchError on network errors, timeouts, HTTP errors (>= 400 or an
    unexpected status) and bodies larger than `max_bytes`.
    """
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": (
            "application/rss+xml, application/atom+xml, application/rdf+xml, "
            "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
        ),
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with session.get(url, headers=headers, timeout=timeout) as response:
            final_url = str(response.url)
            new_etag = response.headers.get("ETag") or etag
            new_last_modified = response.headers.get("Last-Modified") or last_modified
            if response.status == 304:
                return FetchResult(
                    status=304,
                    body=None,
                    etag=new_etag,
                    last_modified=new_last_modified,
                    final_url=final_url,
                    bytes_received=0,
                    content_type=None,
                )
            if not 200 <= response.status < 300:
                raise FeedFetchError(f"HTTP {response.status} from {final_url}")
            declared = response.content_length
            if declared is not None and declared > max_bytes:
                raise FeedFetchError(f"body too large: Content-Length {declared} > {max_bytes}")
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
                received += len(chunk)
                if received > max_bytes:
                    raise FeedFetchError(f"body too large: more than {max_bytes} bytes")
                chunks.append(chunk)
            return FetchResult(
                status=response.status,
                body=b"".join(chunks),
                etag=new_etag,
                last_modified=new_last_modified,
                final_url=final_url,
                bytes_received=received,
                content_type=response.headers.get("Content-Type"),
            )
    except FeedFetchError:
        raise
    except TimeoutError as exc:  # asyncio.TimeoutError is an alias since 3.11
        raise FeedFetchError(f"timeout after {timeout_s:g}s fetching {url}") from exc
    except aiohttp.ClientError as exc:
        raise FeedFetchError(f"network error fetching {url}: {exc!r}") from exc
    except ValueError as exc:  # e.g. a malformed URL rejected by yarl
        raise FeedFetchError(f"invalid request for {url}: {exc}") from exc


def next_retry_delay(
    consecutive_failures: int, base_s: float = 60, cap_s: float = 6 * 3600
) -> float:
    """Exponential backoff: base, 2×base, 4×base, … capped at `cap_s`; 0 without failures."""
    if consecutive_failures <= 0:
        return 0.0
    exponent = min(consecutive_failures - 1, 62)
    return float(min(cap_s, base_s * (2**exponent)))
