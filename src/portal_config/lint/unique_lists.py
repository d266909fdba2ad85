"""Lists that hold each name once (`extends:`, `locked:`, `sections:`, work types): where a
name comes again. The schema says `uniqueItems`; which repetition, a reader needs to know.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

WORK_TYPE = "Work type"  # the title of a work-type list's items


def repetitions(items: Sequence[object]) -> Iterator[tuple[int, int]]:
    """(index, index of its first place) for each name that comes again."""
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if isinstance(item, str):
            if item in first:
                yield index, first[item]
            first.setdefault(item, index)


def lists_work_types(schema: object) -> bool:
    """Whether ``schema`` (a list's) is of work types, whose repetitions a rule reports."""
    items = schema.get("items") if isinstance(schema, Mapping) else None
    return isinstance(items, Mapping) and items.get("title") == WORK_TYPE
