"""The OpenAPI document is a contract: Schemathesis checks that the app keeps it.

Every operation is exercised with an admin, an editor (MYHT) and a viewer key:
the document's examples, coverage cases (boundaries, missing and malformed
values) and generated data, valid and invalid, then stateful sequences that
follow the document's links (POST -> GET by the new id, GET -> PATCH with the
ETag in If-Match, ...). Every default check runs on every response: no 5xx,
documented status codes, content types, headers and schemas, invalid data
refused, valid data accepted, authentication enforced, ... Requests go to the
in-process app (ASGI), on a database of each role's own (see conftest.py).
"""

import hypothesis
import pytest
import schemathesis
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation

from app.main import create_app

from .conftest import current_app

# The same run every time: a fixed seed, derandomized generation, no example database.
SEED = 20180504
MAX_EXAMPLES = 10
STATEFUL_SCENARIOS = 15
STATEFUL_MAX_STEPS = 8


def config(*, coverage: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            # Every default check and phase (examples, coverage, fuzzing, stateful) stays on.
            "phases": {"coverage": {"enabled": coverage}, "stateful": {"max-steps": STATEFUL_MAX_STEPS}},
            "checks": {
                # A well-formed request can still break a rule of the domain (422: evidence before
                # "implemented", a reason to reopen, dates in order, an Idempotency-Key reused for
                # another request) or carry a stale ETag (412). What request validation refuses
                # field by field is caught by schema_valid_fields_pass_validation below.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 412, 422, 429, "5xx"]
                },
                # If-Match is a required header whose absence is 428 Precondition Required (RFC 6585).
                "missing_required_header": {"expected-statuses": [400, 401, 403, 406, 415, 422, 428]},
            },
        }
    )


# The document does not depend on the database: create_app connects lazily, on first use.
OPENAPI = create_app().openapi()
schema = schemathesis.openapi.from_dict(OPENAPI, config=config(coverage=True))
schema.app = current_app

# For the editor and the viewer, no coverage phase: the boundaries of every input are
# validated before any role is considered, and the admin's run covers them all.
by_role = schemathesis.openapi.from_dict(OPENAPI, config=config(coverage=False))
by_role.app = current_app


def schema_valid_fields_pass_validation(ctx, response, case):
    """A request the document allows is not refused by request validation, field by field.

    (Rules across fields, such as "a reason to reopen", are refused as a whole body.)
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        problem = response.json()
    except ValueError:
        return None
    refused = [e for e in problem.get("errors", []) if len(e.get("location", [])) > 1]
    if problem.get("code") == "validation_error" and refused:
        raise AssertionError(f"The document allows what request validation refuses: {problem.get('detail')}")
    return None


CHECKS = [schema_valid_fields_pass_validation]


def _not_own_key(case, key_id: int) -> None:
    # An admin may revoke its own key; then every later call is a 401, which tests nothing.
    if (case.path_parameters or {}).get("key_id") == key_id:
        case.path_parameters = {**case.path_parameters, "key_id": key_id - 1}


def _headers(case, auth: dict[str, str]) -> dict[str, str]:
    """The role's key, unless the case is about the headers and left Authorization out on
    purpose: adding it back would turn a request the document forbids into an allowed one."""
    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.HEADER) and "Authorization" not in (
        case.headers or {}
    ):
        return {}
    return auth


@pytest.mark.parametrize("role", ["admin"], indirect=True)
@schema.parametrize()
def test_every_operation_keeps_the_contract(case, api_key):
    key_id, auth = api_key
    _not_own_key(case, key_id)
    case.call_and_validate(headers=_headers(case, auth), additional_checks=CHECKS)


@pytest.mark.parametrize("role", ["editor", "viewer"], indirect=True)
@by_role.parametrize()
def test_every_operation_keeps_the_contract_for_each_role(case, api_key):
    key_id, auth = api_key
    _not_own_key(case, key_id)
    case.call_and_validate(headers=_headers(case, auth), additional_checks=CHECKS)


def test_stateful_sequences_keep_the_contract(api_key):
    """Scenarios of up to STATEFUL_MAX_STEPS linked calls.

    The database outlives each scenario, so Hypothesis may find that a scenario it replays
    no longer draws the same way, and stop early ("flaky"); as Schemathesis' own runner does,
    that is not a failure: the run goes on with another seed. Every response's failures are
    recorded as they happen, so a replay cannot hide one.
    """
    key_id, auth = api_key
    failures: list[BaseException] = []
    scenarios = 0

    class Sequences(schema.as_state_machine()):
        def setup(self):
            nonlocal scenarios
            scenarios += 1

        def before_call(self, case):
            _not_own_key(case, key_id)

        def get_call_kwargs(self, case):
            return {"headers": _headers(case, auth)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                super().validate_response(response, case, additional_checks=CHECKS, **kwargs)
            except FailureGroup as exc:
                failures.append(exc)
                raise

    for attempt in range(5):
        if scenarios >= STATEFUL_SCENARIOS:
            break
        machine = hypothesis.seed(SEED + attempt)(type(f"Sequences{attempt}", (Sequences,), {}))
        try:
            machine.run(
                settings=hypothesis.settings(
                    max_examples=STATEFUL_SCENARIOS - scenarios,
                    stateful_step_count=STATEFUL_MAX_STEPS,
                    database=None,
                    deadline=None,
                    suppress_health_check=list(hypothesis.HealthCheck),
                    # No shrinking: a replay on a database that has moved on is not the same run.
                    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                )
            )
        except (hypothesis.errors.Flaky, AssertionError):
            if failures:
                break
            # else: a replay drew differently on the changed database; go on with the next seed
    if failures:
        raise failures[0]
    assert scenarios >= STATEFUL_SCENARIOS // 2, f"only {scenarios} stateful scenarios ran"
