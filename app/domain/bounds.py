"""What the columns hold, on both engines: every integer in a request is bounded to these.

Ids, versions and counts are 32-bit integers in PostgreSQL; a larger number in a
request can name no row, and passed on to the database it fails there (or in the
driver) instead of being answered.
"""

MAX_ID = 2**31 - 1  # ids, versions, cursors: PostgreSQL's INTEGER


def as_id(text: str) -> int | None:
    """``text`` as an id when it is one's decimal digits (ASCII only), else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()
