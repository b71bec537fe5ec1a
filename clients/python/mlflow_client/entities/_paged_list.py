"""PagedList: one page of results and the token of the next."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


class PagedList(list[T]):
    """A list of results with ``token``, to pass back for the next page; ``None`` (or empty) on the last page.

    Equality and repr are the list's, as in MLflow: the token is not compared.
    """

    def __init__(self, items: Iterable[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[T]:
        return list(self)
