"""The lists under one recommendation (progress updates, evidence links, decisions, target-date
revisions): one route each, answered the same way."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.api import answer_scopes
from app.api.conditional import CollectionETag
from app.api.deps import RecommendationDep, SessionDep
from app.api.middleware.answer_cache import shared_answer
from app.api.pagination import PageDep, paged
from app.api.responses import conditional_read
from app.schemas.common import Page

ListPage = Callable[..., tuple[list[Any], int]]  # (session, *, recommendation, limit, offset)


def add_child_list(
    router: APIRouter, path: str, name: str, item: type[BaseModel], list_page: ListPage
) -> None:
    """GET /recommendations/{recommendation_id}/<path>: a page of ``list_page``'s items.

    ``name`` is the operation id."""

    @shared_answer(scopes=answer_scopes.recommendation)
    def endpoint(
        _etag: CollectionETag,
        request: Request,
        response: Response,
        recommendation: RecommendationDep,
        session: SessionDep,
        page: PageDep,
    ) -> dict:
        items, total = list_page(session, recommendation=recommendation, limit=page.limit, offset=page.offset)
        return paged(request, response, page, items, total)

    endpoint.__name__ = endpoint.__qualname__ = name
    router.add_api_route(
        f"/recommendations/{{recommendation_id}}/{path}",
        endpoint,
        methods=["GET"],
        name=name,
        response_model=Page[item],
        responses=conditional_read(401, 404, 422),
    )
