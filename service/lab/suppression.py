"""Small-cell suppression of a pilot's results: no group of fewer than five testers is shown,
and no hidden figure can be worked out exactly from the figures that are shown. Pure: no I/O.

One question's results are a table: a row per stratum (people who answered, and per answer
option how many gave it), an ``other strata`` row and an ``all`` row. The rules, in order:

1. **Groups.** A stratum with 1–4 respondents is hidden whole. When any stratum is hidden,
   the smallest shown strata are hidden with it until the hidden ones hold at least five
   people together; they are then shown as one row, ``other strata``, which is itself a
   group of five or more. (A lone hidden stratum would otherwise be the ``all`` row minus
   the shown ones.) When fewer than five people answered in all, nothing is shown.
2. **Cells.** In every shown row an option count of 1–4 is hidden (0 is shown: it names
   nobody). Counts of 5 or more are shown.
3. **Complements.** A row's counts add up to its respondents (single choice, Likert) and a
   column's stratum rows add up to its ``all`` cell: a line of figures with exactly one
   hidden cell would give it away. So in any row or column with exactly one hidden cell, the
   smallest other non-zero cell of that line is hidden too, and this is repeated until no
   line has exactly one hidden cell.
4. **Numbers.** Means and medians are shown only for rows that are shown (five or more
   people each); no minimum or maximum is ever shown, as those are one person's answers.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

MINIMUM_GROUP = 5
OTHER = "other strata"
ALL = "all"


@dataclass(frozen=True)
class Group:
    """One stratum's answers to one question."""

    stratum: str
    respondents: int
    counts: dict[str, int] = field(default_factory=dict)
    values: tuple[float, ...] = ()


@dataclass
class Row:
    stratum: str
    respondents: int | None
    counts: dict[str, int | None]
    mean: float | None = None
    median: float | None = None


def _small(count: int) -> bool:
    return 0 < count < MINIMUM_GROUP


def _merge(stratum: str, groups: list[Group], options: list[str]) -> Group:
    return Group(
        stratum=stratum,
        respondents=sum(g.respondents for g in groups),
        counts={o: sum(g.counts.get(o, 0) for g in groups) for o in options},
        values=tuple(v for g in groups for v in g.values),
    )


def _hidden_groups(groups: list[Group]) -> set[str]:
    hidden = {g.stratum for g in groups if _small(g.respondents)}
    if not hidden:
        return hidden
    by_size = sorted(
        (g for g in groups if g.respondents > 0), key=lambda g: (g.respondents, g.stratum)
    )
    for group in by_size:
        if sum(g.respondents for g in groups if g.stratum in hidden) >= MINIMUM_GROUP:
            break
        hidden.add(group.stratum)
    return hidden


def _complete_lines(matrix: dict[str, dict[str, int]], hidden: set[tuple[str, str]]) -> None:
    """Rule 3: no row or column of ``matrix`` (rows, the ``all`` row last) keeps exactly one
    hidden cell."""
    rows = list(matrix)
    options = list(next(iter(matrix.values()))) if matrix else []
    lines = [[(r, o) for o in options] for r in rows] + [[(r, o) for r in rows] for o in options]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line) != 1:
                continue
            candidates = sorted(
                (cell for cell in line if cell not in hidden and matrix[cell[0]][cell[1]] > 0),
                key=lambda cell: (matrix[cell[0]][cell[1]], rows.index(cell[0]), cell[1]),
            )
            if not candidates:
                # Every other cell of the line is zero: the hidden one equals the line's
                # total, so the total's own cell goes too (it is in a column or row as well).
                candidates = [cell for cell in line if cell not in hidden]
            if candidates:
                hidden.add(candidates[0])
                changed = True


def _numbers(group: Group) -> tuple[float | None, float | None]:
    if not group.values:
        return None, None
    return round(statistics.fmean(group.values), 2), round(statistics.median(group.values), 2)


def suppress(groups: list[Group], options: list[str]) -> list[Row]:
    """The rows to show of one question's table: the shown strata in order, ``other strata``
    when any is hidden, and ``all``; hidden figures are None."""
    total = _merge(ALL, groups, options)
    if total.respondents < MINIMUM_GROUP:
        # Rule 1: too few people in all: only that there were too few.
        return [Row(ALL, None, dict.fromkeys(options))]
    hidden_strata = _hidden_groups(groups)
    shown = [g for g in groups if g.stratum not in hidden_strata]
    if hidden_strata:
        shown.append(_merge(OTHER, [g for g in groups if g.stratum in hidden_strata], options))
    shown.append(total)
    matrix = {g.stratum: {o: g.counts.get(o, 0) for o in options} for g in shown}
    hidden = {
        (r, o) for r, counts in matrix.items() for o, count in counts.items() if _small(count)
    }
    _complete_lines(matrix, hidden)
    rows = []
    for group in shown:
        mean, median = _numbers(group)
        rows.append(
            Row(
                stratum=group.stratum,
                respondents=group.respondents,
                counts={
                    o: None if (group.stratum, o) in hidden else matrix[group.stratum][o]
                    for o in options
                },
                mean=mean,
                median=median,
            )
        )
    return rows


def suppress_counts(counts: dict[str, int]) -> dict[str, int | None]:
    """One line of counts with a published total (the panel by district): rules 2 and 3."""
    matrix = {"line": dict(counts)}
    hidden = {("line", o) for o, count in counts.items() if _small(count)}
    _complete_lines(matrix, hidden)
    return {o: None if ("line", o) in hidden else count for o, count in counts.items()}
