"""Read one landing file into a table of text columns, keeping the line number of every record.

Parsing is deliberately type-free: every value comes back as text (or null when absent) and typing happens in
``validate`` on whole columns. Files are read by Arrow's C++ readers (the fast path, several times faster than
Python); a file they cannot read line-for-line (a broken JSON line, a record spanning lines, blank lines) is read
again by Python's own parsers, which reject the bad record and carry on. A record that cannot be split into
fields is returned as a rejection. A file that cannot be read at all raises ``UnreadableFileError`` naming the
file, the problem and the fix.

The loader takes the file in batches from Arrow's streaming readers (``stream_text``), so the server loads one
batch while the next is parsed; ``parse_text`` reads the whole file at once (the landing gate, and the loader when a
file turns out not to be one record per line).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
from isal import isal_zlib

from proactive_crm.landing.contract import Source
from proactive_crm.landing.discovery import LandingFile

csv.field_size_limit(10 * 1024 * 1024)


class UnreadableFileError(ValueError):
    """The whole file cannot be loaded; nothing of it is loaded."""


@dataclass
class ParsedFile:
    table: pa.Table  # text columns as found in the file (contract and extra columns)
    line_numbers: np.ndarray  # physical line (1-based) of each table row
    extra_columns: list[str]
    raw_text: Callable[[int], str]  # raw text of table row i, used for rows rejected later
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, raw text, reason)
    # False when the file holds no NUL byte at all: validation then skips looking for one in every field
    may_hold_nul: bool = True

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.rejected)

    def slice(self, start: int, stop: int) -> ParsedFile:
        """Rows start..stop as a ParsedFile of their own (without the file-level rejections)."""
        return ParsedFile(
            self.table.slice(start, stop - start),
            self.line_numbers[start:stop],
            self.extra_columns,
            lambda i: self.raw_text(start + i),
            may_hold_nul=self.may_hold_nul,
        )


GZIP_ERRORS = (EOFError, OSError, zlib.error, isal_zlib.error)


def gunzip(data: bytes) -> bytes:
    """``gzip.decompress`` (every member, zero padding after one skipped), inflated by ISA-L (zlib's API, about half
    its CPU: 0.19 s against 0.43 s for the million web events of ``make bench``) with the CRC checked while
    inflating, instead of a second pass of ``zlib.crc32`` over the whole decompressed file."""
    parts: list[bytes] = []
    while data:
        inflate = isal_zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer, the CRC checked
        parts.append(inflate.decompress(data))
        if not inflate.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        data = inflate.unused_data.lstrip(b"\x00")
    return parts[0] if len(parts) == 1 else b"".join(parts)  # no part: an empty file, refused as empty later


def read_text(file: LandingFile, data: bytes, check_utf8: bool = True) -> bytes:
    """Decompressed, UTF-8-checked bytes of the file, without a byte-order mark.

    ``check_utf8=False`` leaves the check to the reader: Arrow's CSV reader refuses text that is not UTF-8 in any
    field (the streamed load then reads the file again, checked, for the error's position).
    """
    if file.compressed:
        try:
            data = gunzip(data)
        except GZIP_ERRORS as exc:
            raise UnreadableFileError(
                f"{file.label}: the gzip stream is truncated or corrupt ({exc}); re-deliver the file"
            ) from exc
    try:
        if check_utf8:
            _check_utf8(data)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableFileError(
            f"{file.label}: not UTF-8 (invalid byte at line {line}, byte {exc.start}); re-export the file as UTF-8"
        ) from exc
    return data.removeprefix(b"\xef\xbb\xbf")  # a BOM written by spreadsheet tools is not part of the header


UTF8_CHECK_BYTES = 16 << 20


def _check_utf8(data: bytes) -> None:
    """Raise ``UnicodeDecodeError`` (positioned in the whole file) unless the bytes are UTF-8.

    Decoded a slice at a time: decoding the whole file at once held a str of up to four times its size just to
    throw it away. A failure is decoded again whole, for the error's exact position (rare, and the file fails).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), UTF8_CHECK_BYTES):
            decoder.decode(view[start : start + UTF8_CHECK_BYTES])
        decoder.decode(b"", final=True)  # a character cut off by the end of the file
    except UnicodeDecodeError:
        data.decode("utf-8")
        raise


def _count_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _line_splitter(data: bytes) -> Callable[[int], str]:
    """Raw text of a physical line, splitting the file only if a rejected row needs it."""
    cache: list[str] = []

    def line(number: int) -> str:
        if not cache:
            cache.extend(data.decode("utf-8").split("\n"))
        return cache[number - 1].removesuffix("\r")

    return line


def _string_table(columns: dict[str, list[str | None]]) -> pa.Table:
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
MAX_LISTED_CHARS = 300


def column_list(names: list[str] | tuple[str, ...], limit: int = MAX_LISTED_CHARS) -> str:
    """Names joined by commas, shortened only at a name boundary: a cut name would send the reader hunting."""
    shown: list[str] = []
    length = 0
    for name in names:
        if shown and length + len(name) + 2 > limit:
            return ", ".join(shown) + f" and {len(names) - len(shown)} more"
        shown.append(name)
        length += len(name) + 2
    return ", ".join(shown) or "nothing"


def _check_header(file: LandingFile, source: Source, header: list[str]) -> None:
    if len(header) == 1:
        found = [name for symbol, name in DELIMITERS.items() if symbol in header[0]]
        if found:
            symbol = next(s for s, n in DELIMITERS.items() if n == found[0])
            columns = header[0].split(symbol)
            raise UnreadableFileError(
                f"{file.label}: the header is one column that contains {found[0]}s "
                f"({column_list(columns)}): the file looks {found[0]}-separated, but landing files must be "
                "comma-separated (RFC 4180); re-export it with ',' as the delimiter"
            )
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise UnreadableFileError(
            f"{file.label}: the header repeats column(s) {column_list(dupes)}; name each column once and re-deliver"
        )
    missing = [c for c in source.required_columns if c not in header]
    if missing:
        raise UnreadableFileError(
            f"{file.label}: required column(s) {column_list(missing)} missing from the header "
            f"(found: {column_list(header)}); the {source.name} contract requires "
            f"{column_list(source.required_columns)}: fix the export's header and re-deliver"
        )


def _csv_fast(data: bytes, header: list[str]) -> ParsedFile | None:
    """Arrow's CSV reader; None when its rows cannot be mapped one-to-one onto physical lines."""
    invalid: list[tuple[int | None, str, int]] = []

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    def read(use_threads: bool) -> pa.Table:
        invalid.clear()
        return pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(use_threads=use_threads, column_names=header, skip_rows=1),
            **_csv_options(header, on_invalid),  # type: ignore[arg-type]
        )

    try:
        table = read(use_threads=True)
        if invalid:  # Arrow numbers bad rows only when reading single-threaded
            table = read(use_threads=False)
    except pa.ArrowInvalid:
        return None
    lines = _count_lines(data)
    if lines != 1 + table.num_rows + len(invalid) or any(number is None for number, _, _ in invalid):
        return None  # blank lines or records spanning lines: the line numbers would be wrong
    bad_lines = np.array([number for number, _, _ in invalid], dtype=np.int64)
    line_numbers = np.setdiff1d(np.arange(2, lines + 1, dtype=np.int64), bad_lines, assume_unique=True)
    raw = _line_splitter(data)
    width = len(header)
    rejected = [
        (number, text, f"expected {width} fields as in the header, found {found}") for number, text, found in invalid
    ]
    return ParsedFile(table, line_numbers, [], lambda i: raw(int(line_numbers[i])), rejected)


def _csv_python(text: str, header: list[str]) -> ParsedFile:
    lines = text.split("\n")  # the csv module counts lines on \n, so raw text is cut the same way
    reader = csv.reader(io.StringIO(text), strict=True)
    next(reader)
    width = len(header)
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    raw_records: list[str] = []
    rejected: list[tuple[int, str, str]] = []
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            previous_end = end = max(reader.line_num, start)
            rejected.append((start, "\n".join(lines[start - 1 : end]), f"malformed CSV: {exc}"))
            continue
        previous_end = end = reader.line_num
        raw = "\n".join(line.removesuffix("\r") for line in lines[start - 1 : end])
        if not row or (len(row) == 1 and row[0] == ""):
            continue  # blank line
        if len(row) != width:
            rejected.append((start, raw, f"expected {width} fields as in the header, found {len(row)}"))
            continue
        rows.append(row)
        line_numbers.append(start)
        raw_records.append(raw)
    values = list(zip(*rows, strict=True)) if rows else [()] * width
    table = _string_table({name: list(col) for name, col in zip(header, values, strict=True)})
    return ParsedFile(table, np.array(line_numbers, dtype=np.int64), [], raw_records.__getitem__, rejected)


def _csv_header(file: LandingFile, source: Source, data: bytes) -> list[str]:
    end = data.find(b"\n")  # not split(): that copied the whole file after the header
    first_line = (data if end < 0 else data[:end]).decode("utf-8")
    try:
        header = [h.strip() for h in next(csv.reader([first_line]))]
    except (StopIteration, csv.Error) as exc:
        raise UnreadableFileError(f"{file.label}: empty file or unreadable header line; expected a CSV header") from exc
    if header == [] or header == [""]:
        raise UnreadableFileError(f"{file.label}: empty file, expected a header line")
    _check_header(file, source, header)
    return header


def _csv_options(header: list[str], on_invalid: Callable[[pa_csv.InvalidRow], str] | None) -> dict[str, object]:
    return {
        "parse_options": pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        "convert_options": pa_csv.ConvertOptions(
            column_types={h: pa.string() for h in header},
            # Only an empty field is missing: Arrow's default null spellings (NA, N/A, NULL, nan, None...) are
            # data here, a last name 'NA' or a price 'N/A' (rejected as not a number), as in the fallback reader.
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    }


def parse_csv(file: LandingFile, source: Source, data: bytes) -> ParsedFile:
    header = _csv_header(file, source, data)
    parsed = _csv_fast(data, header) or _csv_python(data.decode("utf-8"), header)
    parsed.extra_columns = [h for h in header if h not in source.column_names]
    return parsed


JSON_BLOCK_BYTES = 1 << 22
CSV_BLOCK_BYTES = 1 << 22


def _json_parse_options(source: Source) -> pa_json.ParseOptions:
    schema = pa.schema([(name, pa.string()) for name in source.column_names])
    return pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")


def _json_extras_as_text(table: pa.Table, source: Source) -> tuple[pa.Table, list[str]]:
    """Fields the contract does not know, kept as their JSON text."""
    extras = [name for name in table.column_names if name not in source.column_names]
    for name in extras:
        values = [_json_text(v) for v in table.column(name).to_pylist()]
        table = table.set_column(table.column_names.index(name), name, pa.array(values, pa.string()))
    return table, extras


def _jsonl_fast(data: bytes, source: Source) -> ParsedFile | None:
    try:
        table = pa_json.read_json(
            io.BytesIO(data),
            read_options=pa_json.ReadOptions(use_threads=True, block_size=JSON_BLOCK_BYTES),
            parse_options=_json_parse_options(source),
        )
    except pa.ArrowInvalid:
        return None  # a broken line, or a value that is not text: the Python reader handles both per line
    lines = _count_lines(data)
    if table.num_rows != lines:
        return None
    table, extras = _json_extras_as_text(table, source)
    raw = _line_splitter(data)
    return ParsedFile(table, np.arange(1, lines + 1, dtype=np.int64), extras, lambda i: raw(i + 1))


def _jsonl_python(text: str, source: Source) -> ParsedFile:
    columns: dict[str, list[str | None]] = {name: [] for name in source.column_names}
    extras: list[str] = []
    line_numbers: list[int] = []
    raw_records: list[str] = []
    rejected: list[tuple[int, str, str]] = []
    decode = json.JSONDecoder().decode
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = decode(line)
        except ValueError as exc:
            rejected.append((number, line, f"not valid JSON: {exc}"))
            continue
        if not isinstance(record, dict):
            rejected.append((number, line, f"expected a JSON object, found {type(record).__name__}"))
            continue
        n = len(line_numbers)
        for key, value in record.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = [None] * n
                extras.append(key)
            column.append(_json_text(value))
        line_numbers.append(number)
        raw_records.append(line)
        for column in columns.values():  # keys absent from this record
            if len(column) == n:
                column.append(None)
    return ParsedFile(
        _string_table(columns), np.array(line_numbers, dtype=np.int64), extras, raw_records.__getitem__, rejected
    )


def parse_jsonl(file: LandingFile, source: Source, data: bytes) -> ParsedFile:
    _refuse_blank_jsonl(file, data)
    parsed = _jsonl_fast(data, source) or _jsonl_python(data.decode("utf-8"), source)
    if parsed.table.num_rows:
        _check_required_keys(file, source, _keys_present(parsed.table))
    return parsed


def _refuse_blank_jsonl(file: LandingFile, text: bytes) -> None:
    if not text or text.isspace():  # not text.strip(): that copied the whole file to look at its ends
        raise UnreadableFileError(f"{file.label}: empty file, expected one JSON object per line")


def _keys_present(table: pa.Table) -> set[str]:
    return {name for name in table.column_names if table.column(name).null_count < table.num_rows}


def _check_required_keys(file: LandingFile, source: Source, present: set[str]) -> None:
    """Required columns must exist in the file as a whole; a record lacking one is rejected in validation."""
    missing = [c for c in source.required_columns if c not in present]
    if missing:
        raise UnreadableFileError(
            f"{file.label}: no record has the required key(s) {', '.join(missing)}; the {source.name} contract "
            f"requires {', '.join(source.required_columns)}"
        )


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def decoded(file: LandingFile, source: Source, data: bytes, check_utf8: bool = True) -> bytes:
    """The file's text as the readers take it (``read_text``), after checking that its format is one they read."""
    if file.format is None:
        raise UnreadableFileError(
            f"{file.label}: {source.name} accepts "
            + ", ".join(f"*.{f} or *.{f}.gz" for f in source.formats)
            + "; rename or convert the file, or move it out of the landing folder"
        )
    return read_text(file, data, check_utf8)


def _may_hold_nul(file: LandingFile, text: bytes) -> bool:
    # One pass in C over the bytes instead of one per column and batch; JSON spells NUL as an escape too. A file
    # without a backslash has no escape at all: one byte is found by memchr, ten times faster than the six.
    return b"\x00" in text or (file.format == "jsonl" and b"\\" in text and b"\\u0000" in text)


def parse_text(file: LandingFile, source: Source, text: bytes) -> ParsedFile:
    """The whole decoded file (``decoded``) at once."""
    parsed = parse_csv(file, source, text) if file.format == "csv" else parse_jsonl(file, source, text)
    parsed.may_hold_nul = _may_hold_nul(file, text)
    return parsed


def parse_file(file: LandingFile, source: Source, data: bytes) -> ParsedFile:
    return parse_text(file, source, decoded(file, source, data))


class NotLineForLine(Exception):  # noqa: N818 (a signal to read the file whole, not an error of the file)
    """Arrow's streaming reader met something it does not map one row to one line (a record spanning lines, a
    blank line, a malformed record, a field it cannot read as text): the file is read whole by ``parse_text``."""


def _without_values(exc: pa.ArrowInvalid) -> str:
    """Arrow's kind of error, not its message: the message quotes the offending record ("Expected 10 columns, got
    8: C98,...,greta@example.de,..."), and this reason is logged, where contact data must never appear. The whole
    read that follows names the line and the reason in the rejected-rows table, which is restricted."""
    return f"{str(exc).split(':', 1)[0]} (Arrow's message quotes the record, so it is not repeated here)"


def stream_text(file: LandingFile, source: Source, text: bytes, rows: int) -> Iterator[ParsedFile]:
    """The decoded file as batches of about ``rows`` rows, read by Arrow's streaming readers while the caller
    loads the batches before (``parse_text`` reads the whole file before its first row can be loaded).

    Only for a file whose every line is one record, which is known only at its end: the generator raises
    ``NotLineForLine`` as soon as it meets anything else, or at the end when the rows do not add up to the lines;
    the caller then discards what it did with the batches and reads the file with ``parse_text``. A file-level
    defect (header, required keys) raises ``UnreadableFileError`` as ``parse_text`` does.
    """
    may_hold_nul = _may_hold_nul(file, text)
    raw = _line_splitter(text)
    if file.format == "csv":
        try:
            header = _csv_header(file, source, text)
        except UnicodeDecodeError as exc:  # a text not checked for UTF-8 (read_text): checked when read whole
            raise NotLineForLine("header is not UTF-8") from exc
        batches = _csv_stream(text, header)
        first_line = 2
        extra_columns = [h for h in header if h not in source.column_names]
    else:
        _refuse_blank_jsonl(file, text)
        batches = _jsonl_stream(text, source)
        first_line = 1
        extra_columns = []
    line = first_line
    present: set[str] = set()
    for table in _grouped(batches, rows):
        if file.format == "jsonl":
            table, extra_columns = _json_extras_as_text(table, source)
            present |= _keys_present(table)
        numbers = np.arange(line, line + table.num_rows, dtype=np.int64)
        yield ParsedFile(table, numbers, extra_columns, lambda i, start=line: raw(start + i), may_hold_nul=may_hold_nul)
        line += table.num_rows
    lines = _count_lines(text)
    if line - first_line != lines - (first_line - 1):
        raise NotLineForLine(f"{line - first_line} rows for {lines} lines")
    if file.format == "jsonl" and line > first_line:
        _check_required_keys(file, source, present)


def _grouped(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """The reader's blocks gathered into tables of at least ``rows`` rows (the last one shorter)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)


def _csv_stream(text: bytes, header: list[str]) -> Iterator[pa.RecordBatch]:
    try:  # without an invalid-row handler, a record of the wrong width raises: parse_text rejects it by line
        reader = pa_csv.open_csv(
            io.BytesIO(text),
            read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1, block_size=CSV_BLOCK_BYTES),
            **_csv_options(header, None),  # type: ignore[arg-type]
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise NotLineForLine(_without_values(exc)) from exc


def _jsonl_stream(text: bytes, source: Source) -> Iterator[pa.RecordBatch]:
    try:
        reader = pa_json.open_json(
            io.BytesIO(text),
            read_options=pa_json.ReadOptions(block_size=JSON_BLOCK_BYTES),
            parse_options=_json_parse_options(source),
        )
        yield from reader
    except pa.ArrowInvalid as exc:  # a broken line, a value that is not text, a field first met after the first block
        raise NotLineForLine(_without_values(exc)) from exc
