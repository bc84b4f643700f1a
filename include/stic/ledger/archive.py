"""The archive of submitted bytes: content-addressed by sha256, written atomically, never changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from stic import faults
from stic.config import settings


def sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def archive_path_for(sha256: str) -> Path:
    return settings().archive_dir / "sha256" / sha256[:2] / sha256


def archive(path: Path, sha256: str) -> Path:
    """Keep the original bytes, content-addressed; atomic (a crash leaves no half-written archive file)."""
    dest = archive_path_for(sha256)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, Path(path).open("rb") as src:
            # In 1 MB chunks (memory flat in file size), with the crash point half-way through.
            half, copied = max(1, Path(path).stat().st_size // 2), 0
            while copied < half and (chunk := src.read(min(1 << 20, half - copied))):
                out.write(chunk)
                copied += len(chunk)
            faults.point("archive.partial")
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        got, _ = sha256_file(Path(tmp))
        if got != sha256:
            raise OSError(f"{path} changed while it was archived (sha256 {got} != {sha256}); it will be picked up again")
        os.replace(tmp, dest)
        faults.point("archive.renamed")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
