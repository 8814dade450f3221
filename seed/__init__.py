"""The Kirklees CLAS review of 2018, in structured form, its loader, and the text it was taken from."""

from pathlib import Path

KIRKLEES_SEED = Path(__file__).resolve().parent / "kirklees-clas-2018.json"
# The published review as text: the seed's provenance, and the importer's first real input.
KIRKLEES_SOURCE = Path(__file__).resolve().parent / "source" / "kirklees-clas-review-2018.txt"
