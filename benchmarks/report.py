"""Plain-text tables and the target check every benchmark reports through."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}


@dataclass(frozen=True)
class TargetResult:
    """One issue-5 target: what was measured against what was asked."""

    name: str
    measured: float | None  # None: could not be measured (see note)
    comparison: str
    threshold: float
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool:
        return self.measured is not None and _COMPARISONS[self.comparison](self.measured, self.threshold)

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "NOT MEASURED"
        return "met" if self.met else "NOT MET"

    def describe_measured(self) -> str:
        return "-" if self.measured is None else f"{self.measured:.2f}{self.unit}"

    def describe_target(self) -> str:
        return f"{self.comparison} {self.threshold:g}{self.unit}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; first column left-aligned, the rest right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(cell).ljust(width) if index == 0 else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def section(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"


def summary(targets: Sequence[TargetResult]) -> str:
    """The final block: each target, its measured figure and whether it is met."""
    rows = [(t.name, t.describe_measured(), t.describe_target(), t.verdict) for t in targets]
    text = table(("target", "measured", "wanted", "verdict"), rows)
    notes = [f"  - {t.name}: {t.note}" for t in targets if t.note]
    return text + ("\n\nnotes:\n" + "\n".join(notes) if notes else "")
