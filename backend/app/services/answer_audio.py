"""One answer's kept take as a WAV file, whole or in part (HTTP Range, RFC 9110 section 14).

The WAV is a 44-byte header followed by a span of the recording; a range is taken over those
bytes as one. Everything here but ``read_part`` is pure: the service decides who may hear an
answer and where its span lies, and these functions decide what bytes that is.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from backend.app.core.errors import DomainError
from backend.app.services.streaming.recording import read_range, wav_header

WAV_HEADER_BYTES = 44
SAMPLE_WIDTH = 2  # s16le

# One range of bytes: "bytes=a-b", "bytes=a-" or "bytes=-n" (a suffix); the unit is
# case-insensitive.
_SINGLE_RANGE = re.compile(r"bytes=(?:(\d+)-(\d*)|-(\d+))", re.IGNORECASE | re.ASCII)
# Past this many digits a number is read as "more than any file": Python refuses to convert
# very long digit strings, and no WAV here comes near 10**18 bytes.
_MAX_DIGITS = 18


class RangeNotSatisfiable(DomainError):
    """No byte the Range header asks for lies within the WAV."""

    status_code = 416

    def __init__(self, total: int) -> None:
        super().__init__(f"The range asked for lies outside this answer's {total} bytes")
        self.content_range = f"bytes */{total}"


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``first`` to ``last`` inclusive, as Content-Range counts them."""

    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1


def requested_range(header: str | None, total: int) -> ByteRange | None:
    """The one range ``header`` asks for within ``total`` bytes; None to send them all.

    A header this does not understand (another unit, several ranges, a first byte past the
    last) is ignored, as RFC 9110 allows: the whole file is always a right answer.

    Raises:
        RangeNotSatisfiable: the range is well formed but holds none of the bytes.
    """
    if header is None:
        return None
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first_text, last_text, suffix_text = match.groups()
    if suffix_text is not None:
        suffix = _number(suffix_text)
        if suffix == 0 or total == 0:
            raise RangeNotSatisfiable(total)
        return ByteRange(max(total - suffix, 0), total - 1)
    first = _number(first_text)
    if last_text and _number(last_text) < first:
        return None
    if first >= total:
        raise RangeNotSatisfiable(total)
    last = _number(last_text) if last_text else total - 1
    return ByteRange(first, min(last, total - 1))


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def kept_span(start: int, end: int, recorded: int, channels: int) -> tuple[int, int]:
    """Recording bytes ``[start, end)`` cut to the ``recorded`` bytes the file holds, on whole
    frames (a sample for every channel): a span off by one byte would swap left and right."""
    frame = SAMPLE_WIDTH * channels
    start -= start % frame
    end = min(end, recorded)
    end -= end % frame
    return start, max(start, end)


@dataclass(frozen=True)
class WavPart:
    """What to send for a request: the part of the WAV header, then recording bytes."""

    status_code: int  # 200 for the whole file, 206 for a range of it
    headers: dict[str, str]
    header_bytes: bytes
    pcm_start: int  # recording offsets, [pcm_start, pcm_end)
    pcm_end: int


def wav_part(
    pcm_start: int, pcm_end: int, sample_rate: int, channels: int, range_header: str | None
) -> WavPart:
    """The bytes of the WAV holding recording bytes ``[pcm_start, pcm_end)`` that a request
    with ``range_header`` gets, and the headers saying which they are.

    Raises:
        RangeNotSatisfiable: see ``requested_range``.
    """
    header = wav_header(pcm_end - pcm_start, sample_rate, channels, SAMPLE_WIDTH)
    total = len(header) + pcm_end - pcm_start
    wanted = requested_range(range_header, total)
    if wanted is None:
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(total)}
        return WavPart(200, headers, header, pcm_start, pcm_end)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(wanted.length),
        "Content-Range": f"bytes {wanted.first}-{wanted.last}/{total}",
    }
    # WAV byte i is header[i] below the header's length, else recording byte
    # pcm_start + i - len(header).
    header_part = header[wanted.first : wanted.last + 1]
    start = pcm_start + max(wanted.first - len(header), 0)
    end = pcm_start + max(wanted.last + 1 - len(header), 0)
    return WavPart(206, headers, header_part, start, max(start, end))


async def read_part(path: Path, part: WavPart) -> AsyncIterator[bytes]:
    """The part's bytes as they are sent: its header bytes, then the recording's, read in
    chunks on a worker thread."""
    if part.header_bytes:
        yield part.header_bytes
    async for chunk in read_range(path, part.pcm_start, part.pcm_end):
        yield chunk
