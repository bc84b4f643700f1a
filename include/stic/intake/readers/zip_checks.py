"""Checks on a zip before any spreadsheet library opens it: XLSX or ODS by content, zip bombs, and XML parts
holding a text (one cell) too long to hold."""

from __future__ import annotations

import codecs
import zipfile
import zlib
from pathlib import Path

from stic.intake.readers.table import (
    MAX_FIELD_CHARS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    MAX_XML_RUN_BYTES,
    FileRejected,
)

ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _is_ods(path: Path, names: set[str]) -> bool:
    """An OpenDocument spreadsheet by content: its `mimetype` member says so (the ODF package rule)."""
    if "mimetype" not in names or "content.xml" not in names:
        return False
    try:
        with zipfile.ZipFile(path) as z, z.open("mimetype") as f:
            return f.read(len(ODS_MIMETYPE) + 2).strip() == ODS_MIMETYPE
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return False


def _check_zip(path: Path) -> str:
    """'xlsx' or 'ods', or FileRejected for a zip that is neither, broken, or a zip bomb."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FileRejected("unreadable", f"{path.name}: not a valid XLSX (zip) file: {e}") from e
    names = {i.filename for i in infos}
    zip_kind = "ods" if _is_ods(path, names) else "xlsx"
    if zip_kind == "xlsx" and "xl/workbook.xml" not in names and not any(n.endswith("workbook.xml") for n in names):
        raise FileRejected(
            "unreadable", f"{path.name}: a ZIP archive but not an XLSX workbook (no xl/workbook.xml) nor an ODS spreadsheet"
        )
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_XLSX_UNCOMPRESSED or (total > 50 * 1024 * 1024 and total / packed > MAX_XLSX_RATIO):
        raise FileRejected(
            "zip_bomb",
            f"{path.name}: expands to {total // (1024 * 1024)} MB from {packed // 1024} KB; "
            "refused as a possible zip bomb — send the data as CSV",
        )
    _check_xml_cells(path)
    return zip_kind


class _TextTooLong(Exception):
    pass


def _check_xml_cells(path: Path) -> None:
    """Refuse a workbook one of whose XML parts holds a text (a cell) longer than MAX_XML_RUN_BYTES.

    openpyxl and calamine both hold a cell's whole text, and more: one 1.4 GB shared string (under the zip
    bomb limits) took 2.9 GB and 93 s. So every XML part is streamed once, before either opens the file,
    1 MB at a time: a text has no '<', so the bytes between two '<' bound it (a chunk no longer than the cap
    cannot hide a longer run inside it). A part with CDATA (whose text may hold '<') or in UTF-16 is
    measured by expat instead, element by element. Parts that are not XML (images) hold no cells.
    """
    chunk_size = 1024 * 1024
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            try:
                with z.open(info) as f:
                    head = f.read(chunk_size)
                    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                        too_long = _xml_text_too_long(head, f)
                    elif not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                        continue
                    else:
                        too_long = _xml_run_too_long(head, f)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error):
                continue  # a broken part: the reader names what is wrong with it
            if too_long:
                raise FileRejected(
                    "cell_too_large",
                    f"{path.name}: part {info.filename} holds a text longer than {MAX_XML_RUN_BYTES // 1_000_000} MB "
                    f"(a cell holds at most {MAX_FIELD_CHARS:,} characters); this is not a table — "
                    "check that this is the right file",
                )


def _xml_run_too_long(chunk: bytes, f) -> bool:
    run, tail = 0, b""
    while chunk:
        if b"<![CDATA[" in tail + chunk[:16] or b"<![CDATA[" in chunk:
            return _xml_text_too_long(chunk, f, restart=True)
        first = chunk.find(b"<")
        if first < 0:
            run += len(chunk)
        else:
            if run + first > MAX_XML_RUN_BYTES:
                return True
            run = len(chunk) - chunk.rfind(b"<") - 1
        if run > MAX_XML_RUN_BYTES:
            return True
        tail = chunk[-16:]
        chunk = f.read(1024 * 1024)
    return False


def _xml_text_too_long(chunk: bytes, f, restart: bool = False) -> bool:
    """expat's count of each element's text (CDATA included); entities are refused as openpyxl refuses them."""
    from xml.parsers import expat

    if restart:  # expat needs the part from its start
        f.seek(0)
        chunk = f.read(1024 * 1024)
    parser = expat.ParserCreate()
    run = 0

    def text(data: str) -> None:
        nonlocal run
        run += len(data)
        if run > MAX_FIELD_CHARS:
            raise _TextTooLong

    def element(*_args) -> None:
        nonlocal run
        run = 0

    def entity(*_args) -> None:
        raise FileRejected("unsafe_xml", "declares entities")

    parser.CharacterDataHandler = text
    parser.StartElementHandler = parser.EndElementHandler = element
    parser.EntityDeclHandler = entity
    try:
        while chunk:
            parser.Parse(chunk, False)
            chunk = f.read(1024 * 1024)
        parser.Parse(b"", True)
    except _TextTooLong:
        return True
    except FileRejected:
        return False  # openpyxl's defusedxml refuses the file with its own message (unsafe_xml)
    except expat.ExpatError:
        return False  # broken XML: the reader says so
    return False
