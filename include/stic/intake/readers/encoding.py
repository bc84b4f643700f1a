"""The text encoding of a CSV file, decided strictly on a sample: UTF-8 (with or without BOM), GB18030/GBK, UTF-16."""

from __future__ import annotations

import codecs

from stic.intake.readers.table import FileRejected


def _utf8_lines(sample: bytes, complete: bool) -> list[int]:
    """1-based numbers of the lines that are UTF-8 text with CJK characters (in a file that is not UTF-8)."""
    lines = sample.split(b"\n")
    if not complete:
        lines = lines[:-1]  # the sample may end inside a character
    return [i for i, line in enumerate(lines, start=1) if _is_utf8_cjk(line)]


def _is_utf8_cjk(line: bytes) -> bool:
    if line.isascii():
        return False
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(ord(ch) >= 0x800 for ch in text)


def detect_encoding(sample: bytes, complete: bool, name: str = "the file") -> str:
    """utf-8-sig, utf-8, gb18030 or utf-16 — decided strictly on a sample, never guessed into mojibake.

    GB18030 decodes almost any byte string, UTF-8 Chinese included (as nonsense). So a sample that is
    not UTF-8 but holds lines that are UTF-8 Chinese is a file mixing encodings: rejected, not garbled.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")(errors="strict").decode(sample, final=complete)
    except UnicodeDecodeError:
        mixed = _utf8_lines(sample, complete)
        what = f"mixes encodings (line {mixed[0]} is UTF-8, others are not)" if mixed else "is not text in UTF-8 or GB18030/GBK"
        raise FileRejected(
            "encoding",
            f"{name}: the file {what}; save the whole file as 'CSV UTF-8' (Excel: Save As → CSV UTF-8) and send it again",
        ) from None
    mixed = _utf8_lines(sample, complete)
    if mixed:
        raise FileRejected(
            "encoding",
            f"{name}: the file mixes encodings (line {mixed[0]} is UTF-8, other lines are GBK/GB18030); "
            "save the whole file in one encoding ('CSV UTF-8') and send it again",
        )
    return "gb18030"
