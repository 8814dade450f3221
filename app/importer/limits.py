"""The one bound on what the parser is asked to read: the text's size, checked before it runs.

Every part of the parser takes time linear in the text (its patterns read each
character a bounded number of times, the owner-list split looks a bounded
number of separators back), so bounding the size bounds the work. The API's
body limit already keeps request bodies under a megabyte; this bound holds for
every caller, the command line included.
"""

MAX_TEXT_CHARACTERS = 2_000_000  # the Kirklees review is about 105,000


class TextTooLarge(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def check_text_limits(text: str) -> None:
    """Raise :class:`TextTooLarge` when ``text`` is longer than the parser reads."""
    if len(text) > MAX_TEXT_CHARACTERS:
        line = text.count("\n", 0, MAX_TEXT_CHARACTERS) + 1
        raise TextTooLarge(f"more than {MAX_TEXT_CHARACTERS:,} characters (line {line})", line)
