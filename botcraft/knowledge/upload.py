"""Streaming multipart upload: the file goes to disk as it arrives, hashed and counted.

Starlette's form parser would spool the whole body before the endpoint runs; here the size
limit stops the transfer at the first byte over it, and nothing over it reaches the disk.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from botcraft.errors import AppError
from botcraft.i18n import N_


class UploadTooLarge(AppError):
    status_code = 413
    code = "file_too_large"


# A part's headers (its Content-Disposition carries the file name) may be this long; past
# that the owner is told the name is too long, rather than that the upload is broken.
# The name kept is cut to 255 characters anyway (_clean_name).
MAX_PART_HEADER_BYTES = 8192
FILENAME_TOO_LONG = N_("The file name is too long (the part's headers are over 8 KB); "
                       "rename the file with a shorter name and upload it again.")


def upload_too_large(max_bytes: int) -> str:
    return N_("The file is larger than {megabytes} MB, the most allowed.").format(megabytes=max_bytes // (1024 * 1024))


@dataclass
class ReceivedFile:
    path: Path
    filename: str
    size: int
    sha256: str
    head: bytes  # the first bytes, for type detection


def _filename(disposition: bytes) -> tuple[str | None, str | None]:
    _, params = parse_options_header(disposition)
    name = params.get(b"name")
    filename = params.get(b"filename")
    return (
        name.decode("utf-8", "replace") if name is not None else None,
        filename.decode("utf-8", "replace") if filename is not None else None,
    )


def _clean_name(name: str) -> str:
    # Browsers may send a full path; keep the last part and drop control characters.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "file"


async def receive_file(request: Request, *, field: str, max_bytes: int, tmp_dir: Path) -> ReceivedFile:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise AppError("Send the file as multipart/form-data in the field 'file'.", code="multipart_required",
                       status_code=422)

    temp_path = tmp_dir / f"upload-{secrets.token_hex(8)}"
    state: dict[str, object] = {"headers": {}, "field": None, "filename": None, "done": False}
    header_field = bytearray()
    header_value = bytearray()
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    out = None
    too_large = False

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])
        if len(header_field) + len(header_value) > MAX_PART_HEADER_BYTES:
            raise AppError(FILENAME_TOO_LONG, code="filename_too_long", status_code=422)

    def on_header_end() -> None:
        headers = state["headers"]
        assert isinstance(headers, dict)
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        nonlocal out
        headers = state["headers"]
        assert isinstance(headers, dict)
        name, filename = _filename(headers.get(b"content-disposition", b""))
        if name == field and filename is not None and out is None and not state["done"]:
            state["field"], state["filename"] = name, filename
            out = open(temp_path, "wb")  # noqa: SIM115 - closed below, also on errors

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal size, too_large
        if out is None or too_large:
            return
        chunk = data[start:end]
        size += len(chunk)
        if size > max_bytes:
            too_large = True
            return
        if len(head) < 8192:
            head.extend(chunk[: 8192 - len(head)])
        digest.update(chunk)
        out.write(chunk)

    def on_part_end() -> None:
        state["headers"] = {}
        if out is not None:
            state["done"] = True

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
        # Ours (on_header_value) is the limit that counts: the parser's own would end in its
        # generic error, and it checks byte by byte, before our callback sees a chunk.
        max_header_size=1 << 30,
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if too_large:
                break
        if not too_large:
            parser.finalize()
    except ClientDisconnect:
        _discard(out, temp_path)
        raise
    except Exception as exc:
        _discard(out, temp_path)
        if isinstance(exc, AppError):
            raise
        raise AppError("The upload is not valid multipart/form-data.", code="bad_multipart") from exc
    if too_large:
        _discard(out, temp_path)
        raise UploadTooLarge(upload_too_large(max_bytes))
    if out is None:
        raise AppError("No file was sent: use the multipart field 'file'.", code="file_missing", status_code=422)
    out.close()
    filename = state["filename"]
    assert isinstance(filename, str)
    return ReceivedFile(temp_path, _clean_name(filename), size, digest.hexdigest(), bytes(head))


def _discard(out: object, path: Path) -> None:
    close = getattr(out, "close", None)
    if close is not None:
        close()
    with_path = Path(path)
    if with_path.exists():
        os.unlink(with_path)
