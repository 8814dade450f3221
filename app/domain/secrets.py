"""Whether a server secret looks generated rather than typed: pure, for the settings' check."""

import math
from collections import Counter

MIN_LENGTH = 32
MIN_DISTINCT = 10
MIN_BITS_PER_CHARACTER = 3.0  # a random hex string has about 3.7, base64 about 5


def weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak to key API-key hashes, or None when it looks random enough.

    An estimate from the secret's own characters (Shannon entropy): it refuses a
    repeated letter or a short cycle, not every guessable phrase; generate secrets.
    """
    if len(secret) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    counts = Counter(secret)
    if len(counts) < MIN_DISTINCT:
        return f"has fewer than {MIN_DISTINCT} different characters"
    bits = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    if bits < MIN_BITS_PER_CHARACTER:
        return "is too repetitive to be a generated secret"
    return None
