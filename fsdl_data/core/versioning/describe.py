"""What a snapshot holds, in words: one description for `fsdl-data snapshot show` and for the
snapshot assets' pages in the UI, so the two never disagree."""

from __future__ import annotations

from fsdl_data.core.versioning.store import Manifest


def manifest_lines(snapshot_id: str, m: Manifest, limit: int = 20) -> list[str]:
    lines = [f"snapshot {snapshot_id}", f"  name {m.name} ({m.kind}) of {m.source}"]
    lines.append(
        f"  {len(m.files)} files, {m.total_bytes:,} bytes"
        + (f", {m.row_count:,} rows" if m.kind == "table" else "")
    )
    if m.key:
        lines.append(
            f"  key {', '.join(m.key)}; schema: "
            + ", ".join(f"{c} {t}" for c, t in m.schema.items())
        )
    for f in m.files[:limit]:
        extra = f", {f.rows} rows" if f.rows is not None else ""
        version = f", data version {f.data_version}" if f.data_version else ""
        objects = f", {f.facts['objects']} objects" if f.facts and "objects" in f.facts else ""
        lines.append(f"    {f.path}  sha256 {f.sha256[:12]}{extra}{version}{objects}")
    if len(m.files) > limit:
        lines.append(f"    ... and {len(m.files) - limit} more")
    for label, value in (("upstream", m.upstream), ("code", m.code)):
        if value:
            lines.append(f"  {label}: " + ", ".join(f"{k}={v}" for k, v in sorted(value.items())))
    return lines


def object_lines(m: Manifest) -> list[str]:
    """Every file of a snapshot, then every raw object it records, one a line: key (or path),
    size, SHA-256, ETag and S3 VersionId (`-` where the source had none)."""
    lines = ["path\tbytes\tsha256\tetag\tversion_id"]
    for f in m.files:
        lines.append(f"{f.path}\t{f.bytes}\t{f.sha256}\t{f.etag or '-'}\t{f.version_id or '-'}")
    for o in m.objects:
        lines.append(
            f"{o.get('key')}\t{o.get('size', '-')}\t{o.get('sha256') or '-'}\t"
            f"{o.get('etag') or '-'}\t{o.get('version_id') or '-'}"
        )
    return lines


def manifest_markdown(snapshot_id: str, m: Manifest) -> str:
    """The same lines as a Markdown code block, with the command that prints them."""
    body = "\n".join(manifest_lines(snapshot_id, m))
    return f"`fsdl-data snapshot show {snapshot_id[:12]}`\n\n```\n{body}\n```"
