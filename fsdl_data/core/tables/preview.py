"""Small Markdown previews of tables for the Dagster UI."""

from __future__ import annotations

import polars as pl


def _cell(v: object, width: int = 40) -> str:
    s = "" if v is None else (v.hex()[:16] + "…" if isinstance(v, bytes) else str(v))
    s = s.replace("|", "\\|").replace("\n", " ")
    return s if len(s) <= width else s[: width - 1] + "…"


def markdown_preview(df: pl.DataFrame, rows: int = 10) -> str:
    head = df.head(rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in head.iter_rows()]
    return "\n".join(lines) + f"\n\n{len(df)} rows"
