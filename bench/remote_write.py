"""Prometheus remote-write requests (``prompb.WriteRequest``), encoded without a protobuf
library: a series' samples share their timestamps' bytes, so a series is a copy of one template
with its values laid in.

The body is snappy's block format with the whole request as one literal, which every snappy
decoder reads; compressing it would cost more than sending it to 127.0.0.1.
"""

from __future__ import annotations

import struct
import urllib.error
import urllib.request
from collections.abc import Sequence

#: A sample's bytes: its field tag and length, the value's tag and 8 bytes, the timestamp's tag
#: and a varint of 6 bytes (milliseconds between 2^35 and 2^42: years 1971 to 2109).
SAMPLE_BYTES = 18
_VALUE_AT = 3
_TIMESTAMP_AT = 12
_HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def varint(number: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative ``number``."""
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + varint(len(payload)) + payload


def labels(pairs: Sequence[tuple[str, str]]) -> bytes:
    """A series' ``Label`` fields, sorted by name as Prometheus keeps them."""
    return b"".join(
        _field(0x0A, _field(0x0A, name.encode()) + _field(0x12, value.encode()))
        for name, value in sorted(pairs)
    )


def samples_template(timestamps_ms: Sequence[int]) -> bytes:
    """The ``Sample`` fields of ``timestamps_ms`` with every value 0, for ``series``."""
    record = bytearray()
    for stamp in timestamps_ms:
        encoded = varint(stamp)
        if len(encoded) != SAMPLE_BYTES - _TIMESTAMP_AT:
            raise ValueError(f"timestamp {stamp} ms is outside the years 1971 to 2109")
        record += b"\x12\x10\x09" + bytes(8) + b"\x10" + encoded
    return bytes(record)


def series(label_fields: bytes, template: bytes, values: Sequence[float]) -> bytes:
    """One ``TimeSeries`` field of a ``WriteRequest``: ``values`` at the template's times."""
    packed = struct.pack(f"<{len(values)}d", *values)
    record = bytearray(template)
    for byte in range(8):
        record[_VALUE_AT + byte :: SAMPLE_BYTES] = packed[byte::8]
    return _field(0x0A, label_fields + record)


def snappy_block(data: bytes) -> bytes:
    """``data`` in snappy's block format, as one literal."""
    if not data:
        return b"\x00"
    return varint(len(data)) + b"\xfc" + struct.pack("<I", len(data) - 1) + data


def send(url: str, request: bytes) -> None:
    """POST an encoded ``WriteRequest`` to a remote-write receiver; its refusal as an error."""
    post = urllib.request.Request(url, data=snappy_block(request), headers=_HEADERS)
    try:
        with urllib.request.urlopen(post, timeout=3600) as response:
            response.read()
    except urllib.error.HTTPError as refused:
        detail = refused.read().decode(errors="replace")[:500]
        raise SystemExit(f"{url} refused the samples ({refused.code}): {detail}") from None
