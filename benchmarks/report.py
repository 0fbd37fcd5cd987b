"""Figures with their goals, and the Markdown they become. Pure: data in, text out."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured figure; `met` is None when the figure has no goal."""

    name: str
    value: str
    goal: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("met" if self.met else "**not met**")


@dataclasses.dataclass
class Section:
    title: str
    setup: str  # what was measured, on what
    figures: list[Figure] = dataclasses.field(default_factory=list)
    tables: list[str] = dataclasses.field(default_factory=list)  # further Markdown tables
    notes: list[str] = dataclasses.field(default_factory=list)  # reasons for missed goals, fixes
    commands: list[str] = dataclasses.field(default_factory=list)
    load: str = ""  # load average while it ran

    def render(self) -> str:
        parts = [f"## {self.title}", "", self.setup, ""]
        if self.figures:
            parts += ["| figure | value | goal | |", "| --- | --- | --- | --- |"]
            parts += [f"| {f.name} | {f.value} | {f.goal} | {f.verdict} |" for f in self.figures]
            parts.append("")
        for table in self.tables:
            parts += [table, ""]
        for note in self.notes:
            parts += [f"- {note}"]
        if self.notes:
            parts.append("")
        if self.load:
            parts += [f"Load average (1/5/15 min) before → after: {self.load}", ""]
        if self.commands:
            parts += ["```bash", *self.commands, "```", ""]
        return "\n".join(parts)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def num(value: float, digits: int = 0) -> str:
    """1234567.8 → '1,234,568'; NaN → 'n/a'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:,.1f} MB" if n_bytes >= 1e5 else f"{n_bytes / 1e3:,.1f} kB"


def secs(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    return f"{seconds:,.1f} s" if seconds < 120 else f"{seconds / 60:,.1f} min ({seconds:,.0f} s)"


def ratio(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.2f}×"
