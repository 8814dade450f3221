from app.services.cache import CounterCache


def test_an_answer_is_computed_once_per_key():
    cache = CounterCache(size=2)
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert cache.get_or_compute((1, "a"), compute) == 1
    assert cache.get_or_compute((1, "a"), compute) == 1
    assert cache.get_or_compute((2, "a"), compute) == 2  # the database moved on
    assert len(calls) == 2


def test_the_oldest_entries_age_out():
    cache = CounterCache(size=2)
    for key in ("a", "b", "c"):
        cache.get_or_compute(key, lambda k=key: k)
    assert cache.get_or_compute("a", lambda: "recomputed") == "recomputed"
    assert cache.get_or_compute("c", lambda: "recomputed") == "c"
