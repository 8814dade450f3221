"""Optimistic concurrency: a change applies only to the version the client saw."""

from sqlalchemy import update
from sqlmodel import Session, SQLModel

from app.errors import PreconditionFailed


def claim(session: Session, entity: SQLModel, expected: int) -> None:
    """Compare-and-set the version of ``entity`` from ``expected`` to the next one, or raise 412.

    One UPDATE ... WHERE version = expected, so two processes racing for the
    same version cannot both win: the loser's UPDATE matches no row.
    """
    model = type(entity)
    result = session.exec(
        update(model).where(model.id == entity.id, model.version == expected).values(version=expected + 1)
    )
    if result.rowcount != 1:
        session.refresh(entity)
        raise PreconditionFailed(
            f"This {model.__tablename__} has changed since the version you sent "
            f"({expected}; it is now {entity.version}). Fetch it again and reapply your change.",
            current_version=entity.version,
        )
    # Keep the loaded object in step, so the ORM's own UPDATE writes the same version.
    entity.version = expected + 1


def bump(entity: SQLModel) -> None:
    """The entity's representation changed for another reason (e.g. an owner's progress)."""
    entity.version = entity.version + 1
