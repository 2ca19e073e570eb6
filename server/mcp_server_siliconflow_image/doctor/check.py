"""One finding of `doctor`: a verdict, what was found, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["ok", "warn", "fail", "skip"]
"""`fail` means generating will not work; `warn` that something may bite; `skip` that it does not apply."""


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str | None = None
