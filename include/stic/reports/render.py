"""The Jinja environment shared by the receipts and the site: autoescaped, templates from package data."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2


def _load(name: str) -> str:
    return resources.files("stic.reports").joinpath("templates", name).read_text(encoding="utf-8")


def fmt_number(v, places: int = 0) -> str:
    if v is None or v == "":
        return ""
    try:
        d = Decimal(str(v))
    except Exception:
        return str(v)
    if places == 0 and d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d:,.{places or 2}f}"


def fmt_time(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            return v
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return str(v)


def fmt_bytes(n) -> str:
    if n is None:
        return ""
    n = int(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def to_json(v, indent: int | None = None) -> str:
    return json.dumps(v, ensure_ascii=False, indent=indent, default=jsonable_default)


def jsonable_default(v):
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=True,  # every template is HTML: whatever a submitter sent is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=fmt_number, when=fmt_time, size=fmt_bytes, tojson_text=to_json)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def write_atomic(path: Path, text: str) -> Path:
    """Write a file so that a reader never sees half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
