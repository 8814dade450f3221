"""A hostile import on the real server: the process keeps answering while it is read.

The text is what a PDF copy can hold, pushed to the body limit: long runs of
spaces, tabs and dots after numbers and titles. Parsing it runs in a worker
thread in time linear in its size, so /healthz is answered all along.
"""

import threading

import httpx

IMPORTS = 3
# Failure detectors, not performance targets: a blocked event loop answers nothing for minutes.
REQUEST_TIMEOUT = 60.0

HOSTILE = (
    "Review of services in Testshire\n\nDate of publication: 17 May 2019\n\n"
    + "".join(f"{n}." + " " * 40_000 + "\n" for n in range(1, 11))
    + "Title"
    + "\t" * 40_000
    + "x\n"
    + "Title"
    + "." * 40_000
    + "x\n"
    + "Provider services included: "
    + "<(" * 20_000
    + "\n"
    + "\nRecommendations\n\n1. "
    + " " * 40_000
    + "The Gamma NHS Trust should:\n\n1.1 Do it.\n"
    + "\nAn action plan is required from"
    + " " * 40_000
    + "x\n"
)


def _round(live_server, imports: int) -> int:
    """Send ``imports`` hostile imports at once and poll /healthz until they are answered: how many
    health checks came back while an import was still in flight."""
    statuses: list[int] = []

    def hostile_import() -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
            response = client.post(
                live_server.url("/api/v1/reports/import"),
                params={"dry_run": "true"},
                content=HOSTILE.encode(),
                headers={**live_server.headers, "Content-Type": "text/plain; charset=utf-8"},
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=hostile_import) for _ in range(imports)]
    for thread in threads:
        thread.start()
    answered_during_imports = 0
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        while any(thread.is_alive() for thread in threads):
            response = client.get(live_server.url("/healthz"))
            assert response.status_code == 200, live_server.log()
            answered_during_imports += any(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join()
    assert len(statuses) == imports and all(status < 500 for status in statuses), (
        statuses,
        live_server.log(),
    )
    return answered_during_imports


def test_health_checks_are_answered_while_hostile_imports_run(live_server):
    assert len(HOSTILE.encode()) < 1_048_576  # under the default body limit: it is read, not refused
    # Linear parsing can be quick enough for a round to end before the first health check is
    # answered; a blocked event loop answers none while imports are in flight, in any round.
    answered, imports = 0, IMPORTS
    for _ in range(4):
        answered = _round(live_server, imports)
        if answered:
            break
        imports *= 2
    assert answered > 0
