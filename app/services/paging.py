from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, func
from sqlmodel import Session, select


def fetch_page(
    session: Session, query: Select, *, order_by: Sequence[ColumnElement], limit: int, offset: int
) -> tuple[list, int]:
    """One page of ``query`` in a stable order, and how many rows match in all."""
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return list(rows), total
