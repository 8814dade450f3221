"""The keys and the store behind SharedAnswerMiddleware."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from app.api.etags import holds_tag
from app.api.middleware.answer_cache import AnswerStore, StoredAnswer, answer_key

DAY = date(2018, 7, 2)
ORIGIN = ("http", "testserver", "")
params = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=6)


@given(params, st.randoms())
def test_the_order_of_query_parameters_makes_no_new_key(query, random):
    shuffled = list(query)
    random.shuffle(shuffled)
    assert answer_key(7, "/api/v1/summary", query, DAY) == answer_key(7, "/api/v1/summary", shuffled, DAY)


def test_everything_the_answer_depends_on_is_in_the_key():
    base = answer_key(7, "/api/v1/recommendations", [("limit", "50")], DAY)
    others = [
        answer_key(8, "/api/v1/recommendations", [("limit", "50")], DAY),  # the database moved on
        answer_key(7, "/api/v1/reports", [("limit", "50")], DAY),
        answer_key(7, "/api/v1/recommendations", [("limit", "51")], DAY),
        answer_key(7, "/api/v1/recommendations", [("limit", "50")], date(2018, 7, 3)),
    ]
    assert all(other.etag != base.etag for other in others)
    assert base.etag.startswith('W/"7-')


def test_if_none_match_is_compared_weakly_and_may_list_several_tags():
    etag = 'W/"7-abc"'
    assert holds_tag('"7-abc"', etag)
    assert holds_tag('"1-x", W/"7-abc"', etag)
    assert holds_tag(" * ", etag)
    assert not holds_tag('"7-abd"', etag)
    assert not holds_tag(None, etag) and not holds_tag("", etag)


def _answer(body: bytes | None) -> StoredAnswer:
    return StoredAnswer([(b"etag", b'W/"x"')], body)


def test_a_newer_state_drops_the_answers_of_older_ones():
    store = AnswerStore()
    old, new = answer_key(1, "/a", [], DAY), answer_key(2, "/a", [], DAY)
    store.put(old, ORIGIN, _answer(b"old"))
    store.put(new, ORIGIN, _answer(b"new"))
    assert store.get(old, ORIGIN) is None and store.get(new, ORIGIN).body == b"new"
    store.put(old, ORIGIN, _answer(b"late"))  # computed before the write, kept after it: refused
    assert store.get(old, ORIGIN) is None and len(store) == 1


def test_past_its_budget_the_least_recently_used_answers_go_first():
    store = AnswerStore(max_bytes=400, max_answer_bytes=200)
    keys = [answer_key(1, f"/{i}", [], DAY) for i in range(3)]
    for key in keys[:2]:
        store.put(key, ORIGIN, _answer(b"x" * 150))
    store.get(keys[0], ORIGIN)  # used: kept
    store.put(keys[2], ORIGIN, _answer(b"x" * 150))
    assert store.get(keys[1], ORIGIN) is None
    assert store.get(keys[0], ORIGIN) is not None and store.get(keys[2], ORIGIN) is not None


def test_an_answer_too_large_for_its_share_is_not_kept():
    store = AnswerStore(max_bytes=1000, max_answer_bytes=100)
    store.put(answer_key(1, "/big", [], DAY), ORIGIN, _answer(b"x" * 200))
    assert len(store) == 0


def test_origins_are_kept_apart():
    store = AnswerStore()
    key = answer_key(1, "/a", [], DAY)
    store.put(key, ORIGIN, _answer(b"one"))
    assert store.get(key, ("https", "other.example", "")) is None
