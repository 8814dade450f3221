"""Who may do what: roles, and acting for an owning organisation.

Pure rules: the API's dependencies and the services ask these questions and
turn a refusal into a 403 problem document.
"""

from dataclasses import dataclass

from app.domain.status import Role

READ_ROLES = frozenset(Role)
OWNER_WRITE_ROLES = frozenset({Role.ADMIN, Role.ASSURER, Role.EDITOR})
ASSURANCE_ROLES = frozenset({Role.ADMIN, Role.ASSURER})
ADMIN_ROLES = frozenset({Role.ADMIN})
WRITE_ROLES = OWNER_WRITE_ROLES | ASSURANCE_ROLES | ADMIN_ROLES  # may make some write


@dataclass(frozen=True)
class Actor:
    """Whoever is making a request: an API key, the command line, or an anonymous reader."""

    role: Role | None
    api_key_id: int | None = None
    organisation_id: int | None = None
    request_id: str | None = None
    name: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.role is None


SYSTEM = Actor(role=Role.ADMIN, name="command line")
ANONYMOUS = Actor(role=None, name="anonymous")


# What an assurer may change on a report: the record of the action plan's submission.
ASSURER_REPORT_FIELDS = frozenset({"action_plan_submitted_date"})


def report_fields_refused(actor: Actor, fields: set[str]) -> list[str]:
    """The fields of a report ``actor`` asks to change but may not (admins may change all)."""
    if actor.role is Role.ADMIN:
        return []
    allowed = ASSURER_REPORT_FIELDS if actor.role is Role.ASSURER else frozenset()
    return sorted(fields - allowed)


class NotAllowed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def acting_organisation(actor: Actor, *, named: int | None, owners: list[int]) -> int | None:
    """The owning organisation a write is for, or raise ``NotAllowed``.

    An editor always acts for its own organisation, which must own the
    recommendation; naming any other organisation is refused. Admins and
    assurers act for an owner only by naming it. ``None`` means "not named"
    (the caller decides whether that is acceptable, e.g. a single owner).
    """
    if actor.role is Role.EDITOR:
        if named is not None and named != actor.organisation_id:
            raise NotAllowed("An editor key acts only for its own organisation.")
        if actor.organisation_id not in owners:
            raise NotAllowed("This key's organisation does not own this recommendation.")
        return actor.organisation_id
    if actor.role in (Role.ADMIN, Role.ASSURER):
        return named
    raise NotAllowed("This key may not change recommendations.")
