"""Reading the files other tools write: encoding, delimiter, header, rows with their line.

* Encoding: UTF-8 (with or without a byte-order mark), else Windows-1252 (what a French Excel
  saves), else Latin-1 (which decodes anything). The whole file is checked in chunks before
  a decision, so a stray byte on line 90,000 does not surprise the import.
* Delimiter: ``csv.Sniffer`` restricted to ``, ; tab |``, falling back on the one that appears
  most in the header line. CRLF and quoted newlines are the ``csv`` module's business.
* Rows come as ``(line, cells)``: the row's number as a spreadsheet shows it (header = 1, a
  cell with a line break stays one row, blank lines count as rows and are skipped).
  A row cut short by the end of the file (an unclosed quote) is reported, never half-read.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
DELIMITERS = ",;\t|"
CHUNK = 1024 * 1024
# Some tools put whole paragraphs in a note: allow large cells.
csv.field_size_limit(10 * 1024 * 1024)


@dataclass(frozen=True)
class FileInfo:
    encoding: str
    delimiter: str
    sha256: str
    size: int
    lines: int  # newline count: an estimate of the rows (quoted newlines count too)


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def file_hash(path: Path) -> tuple[str, int, int]:
    digest = hashlib.sha256()
    size = lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), size, lines


def detect_encoding(path: Path) -> str:
    for encoding in ENCODINGS:
        if _decodes(path, encoding):
            return encoding
    return "latin-1"  # unreachable: latin-1 decodes every byte


def detect_delimiter(sample: str) -> str:
    header = sample.splitlines()[0] if sample else ""
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and header.count(found) > 0:
        return found
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def inspect(path: Path, encoding: str | None = None, delimiter: str | None = None) -> FileInfo:
    encoding = encoding or detect_encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(64 * 1024)
    # A sample cut inside a quoted cell confuses the sniffer: keep whole lines only.
    if len(sample) == 64 * 1024 and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    delimiter = delimiter or detect_delimiter(sample)
    sha, size, lines = file_hash(path)
    return FileInfo(encoding=encoding, delimiter=delimiter, sha256=sha, size=size, lines=lines)


class TruncatedRow(Exception):
    """The file ends inside a quoted cell: its last row was cut."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def open_text(path: Path, encoding: str) -> IO[str]:
    return path.open(encoding=encoding, newline="")


def rows(handle: IO[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of every non-blank row, header included (line 1 usually)."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc) or "EOF" in str(exc):
                raise TruncatedRow(number) from exc
            raise
        if not cells or all(not c.strip() for c in cells):
            continue
        yield number, cells


def header_and_rows(
    path: Path, encoding: str, delimiter: str
) -> tuple[IO[str], list[str], Iterator[tuple[int, list[str]]]]:
    """The open handle (close it), the header cells and the data rows."""
    handle = open_text(path, encoding)
    iterator = rows(handle, delimiter)
    try:
        _line, header = next(iterator)
    except StopIteration:
        header = []
    header = [h.strip().lstrip("\ufeff") for h in header]
    return handle, header, iterator


def preview(
    path: Path, encoding: str, delimiter: str, n: int = 5
) -> tuple[list[str], list[list[str]]]:
    handle, header, iterator = header_and_rows(path, encoding, delimiter)
    out: list[list[str]] = []
    with handle:
        try:
            for _line, cells in iterator:
                out.append(cells)
                if len(out) >= n:
                    break
        except (TruncatedRow, csv.Error):
            pass
    return header, out
