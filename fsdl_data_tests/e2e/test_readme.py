"""The README is a front page that stays true: its tables render, its configuration table names
every variable the code reads, its links resolve, and its graph names every asset."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _tables(text: str) -> list[list[str]]:
    """Each Markdown table (outside code fences) as its lines."""
    tables, current, fenced = [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.strip().startswith("|"):
            current.append(line.strip())
            continue
        if current:
            tables.append(current)
        current = []
    if current:
        tables.append(current)
    return tables


def _cells(row: str) -> int:
    """Columns of a GFM table row: split on pipes not escaped with a backslash."""
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def test_every_table_row_has_the_headers_column_count() -> None:
    found = 0
    for page in PAGES:
        for table in _tables(page.read_text()):
            found += 1
            header = _cells(table[0])
            assert len(table) >= 2 and re.fullmatch(
                r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*\|?", table[1]
            ), f"{page.name}: a table without its separator row: {table[0]}"
            bad = [row for row in table if _cells(row) != header]
            assert not bad, f"{page.name}: rows with other than {header} columns: {bad}"
    assert found >= 10


def test_the_table_checker_catches_a_broken_table() -> None:
    broken = "| a | b |\n|---|---|\n| 1 | 2 |\n\n| 3 | 4 |\n| 5 | 6 | 7 |\n"
    tables = _tables(broken)
    assert len(tables) == 2 and _cells(tables[1][1]) == 3  # a blank line starts a new "table"


def test_the_configuration_table_names_every_variable_the_code_reads() -> None:
    code = "".join(p.read_text() for p in (REPO / "fsdl_data").rglob("*.py"))
    read = set(re.findall(r"[\"'](FSDL_[A-Z0-9_]+)[\"']", code))
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [r for t in _tables(section) for r in t[2:]]
    documented = {v for r in rows for v in re.findall(r"`(FSDL_[A-Z0-9_]+)`", r.split("|")[1])}
    assert read - documented == set(), "read by the code, missing from the README's table"
    assert documented - read == set(), "in the README's table, read nowhere"
    from fsdl_data.config import Settings

    named = {v for r in rows for v in re.findall(r"`([A-Z][A-Z0-9_]+)`", r.split("|")[1])}
    assert {v.name for v in Settings.variables()} <= named, "Settings reads what the table lacks"


def test_every_relative_link_resolves_and_every_doc_is_linked() -> None:
    readme = (REPO / "README.md").read_text()
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    linked = set(re.findall(r"\]\(docs/([^)#]+\.md)", readme))
    assert {p.name for p in PAGES[1:]} <= linked, "docs/ pages the README does not link"


def test_the_readme_is_a_front_page() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 260
    for marker in ("walkthrough", "demo-output", "graph"):
        assert f"<!-- {marker}:start -->" in readme and f"<!-- {marker}:end -->" in readme


def test_the_graph_names_every_asset() -> None:
    from fsdl_data.definitions import defs

    readme = (REPO / "README.md").read_text()
    picture = readme.split("<!-- graph:start -->", 1)[1].split("<!-- graph:end -->", 1)[0]
    named = set(re.findall(r"[a-z_]+", picture))
    assets = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert assets - named == set()


def test_the_asset_graph_page_names_every_asset() -> None:
    from fsdl_data.definitions import defs

    page = (REPO / "docs" / "asset-graph.md").read_text()
    named = set(re.findall(r"`([a-z_]+)`", page))
    assets = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert assets - named == set(), "assets docs/asset-graph.md does not describe"
