"""limit/offset paging with an RFC 8288 Link header."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Response

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def link_header(request: Request, page: PageParams, total: int) -> str:
    def url(offset: int) -> str:
        return str(request.url.include_query_params(limit=page.limit, offset=offset))

    last = max(0, (total - 1) // page.limit * page.limit)
    links = [f'<{url(0)}>; rel="first"', f'<{url(last)}>; rel="last"']
    if page.offset + page.limit < total:
        links.append(f'<{url(page.offset + page.limit)}>; rel="next"')
    if page.offset > 0:
        links.append(f'<{url(max(0, page.offset - page.limit))}>; rel="prev"')
    return ", ".join(links)


def page_body(page: PageParams, items: list, total: int) -> dict:
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


def paged(request: Request, response: Response, page: PageParams, items: list, total: int) -> dict:
    """The list body, with the Link header set on ``response``."""
    response.headers["Link"] = link_header(request, page, total)
    return page_body(page, items, total)
