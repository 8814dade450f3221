"""The Kirklees CLAS review of 2018, in structured form, and its loader."""

from pathlib import Path

KIRKLEES_SEED = Path(__file__).resolve().parent / "kirklees-clas-2018.json"
