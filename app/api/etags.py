"""Entity tags: how they are written and how If-None-Match and If-Match lists are read."""

from datetime import date


def resource_etag(version: int, day: date) -> str:
    """A single resource's tag: its version and the date its figures are for ("7.20180702")."""
    return f'"{version}.{day:%Y%m%d}"'


def listed_tags(header: str) -> list[str]:
    """The tags of an If-None-Match or If-Match list, weak or strong alike (the W/ dropped)."""
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def holds_tag(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (weakly) or is ``*``."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return etag.removeprefix("W/") in listed_tags(if_none_match)
