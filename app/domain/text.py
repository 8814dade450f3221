"""What a stored text may hold: no control characters, bar tabs and line breaks in multi-line text.

Control characters make an XLSX file unreadable (its XML cannot hold them), and
escape sequences (ESC, CSI) repaint the terminal of whoever prints the text. The
patterns are character classes, so they match in time linear in the text.
"""

_C0_AND_C1 = r"\x00-\x1f\x7f-\x9f"
# One character of single-line text: no control character at all.
SINGLE_LINE_TEXT = rf"[^{_C0_AND_C1}]"
# One character of multi-line text: tab, line feed and carriage return are allowed too.
MULTI_LINE_TEXT = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"


def some_text(allowed: str) -> str:
    """A pattern: only ``allowed`` characters, at least one of them not a space."""
    return rf"^{allowed}*[^\s{_C0_AND_C1}]{allowed}*$"
