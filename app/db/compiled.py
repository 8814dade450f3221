"""A statement compiled once for a driver that takes it directly, past SQLAlchemy's execution:
its parameters bound and its rows read back by their types, as SQLAlchemy would."""

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Dialect, Executable

_GIVEN = object()  # a parameter the caller gives, where the statement holds none


@dataclass(frozen=True)
class Compiled:
    """A statement as the driver takes it, and how to read its rows back."""

    sql: str
    # Each parameter in its place: its name, the value the statement holds (or _GIVEN), and
    # the processor its type binds it with.
    order: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    named: bool  # the driver takes the parameters by name (else in ``order``)
    row: Callable[..., Any]
    # (column, its processor) for the columns SQLAlchemy's result would process
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect, column_keys: list[str] | None = None) -> "Compiled":
        """``statement`` for ``dialect``; an INSERT or UPDATE setting the columns it is given
        sets those of ``column_keys``."""
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(
                "a statement whose SQL depends on its parameters' values cannot be compiled once"
            )
        positions = compiled.positiontup
        names = positions if positions is not None else list(compiled.params)  # by their SQL names
        order = []
        for name in names:
            bind = compiled.binds[name]
            if bind.callable is not None:
                raise ValueError("a parameter whose value is computed at each execution cannot be held")
            held = _GIVEN if bind.required else bind.value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            order.append((name, held if held is _GIVEN or process is None else process(held), process))
        columns = list(getattr(statement, "exported_columns", ()))
        return cls(
            sql=str(compiled),
            order=tuple(order),
            named=positions is None,
            row=namedtuple("Row", [column.key for column in columns])._make if columns else tuple,
            processors=tuple(
                (index, process)
                for index, column in enumerate(columns)
                if (process := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
            ),
        )

    def parameters(self, given: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        values = [
            held if held is not _GIVEN else given[name] if process is None else process(given[name])
            for name, held, process in self.order
        ]
        return dict(zip((name for name, _, _ in self.order), values, strict=True)) if self.named else values

    def read(self, values: tuple) -> Any:
        values = list(values)
        for index, process in self.processors:
            if values[index] is not None:
                values[index] = process(values[index])
        return self.row(values)


# Statements are module constants: each is compiled once for each engine's dialect (kept while
# the engine is) and set of columns given.
_COMPILED: WeakKeyDictionary[Dialect, dict[tuple[Executable, frozenset[str]], Compiled]] = WeakKeyDictionary()


def compiled_once(statement: Executable, dialect: Dialect, column_keys: Iterable[str] = ()) -> Compiled:
    """``statement`` compiled for ``dialect`` (``Compiled.of``), the first time it is asked for."""
    for_dialect = _COMPILED.get(dialect)
    if for_dialect is None:
        for_dialect = _COMPILED[dialect] = {}
    keys = frozenset(column_keys)
    found = for_dialect.get((statement, keys))
    if found is None:
        found = for_dialect[(statement, keys)] = Compiled.of(
            statement, dialect, column_keys=list(keys) or None
        )
    return found
