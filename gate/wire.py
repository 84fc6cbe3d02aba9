"""The API's answers as bytes on the wire: the envelope, decoded in one pass, and the messages
made of what the server said. Light on imports (msgspec only).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import msgspec

from gate.errors import ApiError
from gate.redact import clip

T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T]):
    """`{"status": true, "result": ...}`; either may be missing from a wrong answer."""

    status: Any = msgspec.UNSET
    result: T | msgspec.UnsetType = msgspec.UNSET


# One decoder per shape, built once under a lock. msgspec builds a type's decoding information
# the first time it meets the type; two threads doing that at once for the same generic struct
# (two run tests judged together, each decoding its execution) can crash the interpreter
# (a segfault, seen with msgspec 0.18 to 0.22). Built decoders are safe to share.
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}
_DECODERS_LOCK = threading.Lock()


def _decoder(shape: Any) -> msgspec.json.Decoder[Any]:
    decoder = _DECODERS.get(shape)
    if decoder is None:
        with _DECODERS_LOCK:
            decoder = _DECODERS.get(shape)
            if decoder is None:
                decoder = _DECODERS[shape] = msgspec.json.Decoder(Envelope[shape])
    return decoder


def decode_result(body: bytes, what: str, shape: Any, host: str) -> Any:
    """The envelope's `result`, decoded as `shape` (plain JSON for Any) in one pass; an ApiError
    that says what is wrong (the envelope first, then the shape) otherwise."""
    try:
        envelope = _decoder(shape).decode(body)
    except msgspec.ValidationError as exc:
        if shape is Any:  # the body is JSON but not an object: no envelope
            envelope = Envelope()
        else:  # say what is wrong with the envelope first, then the shape
            decode_result(body, what, Any, host)
            raise shape_failure(what, shape_error(exc)) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(
            f"{host} answered {what} with something that is not JSON "
            f"({server_message(body)}); check --base-url"
        ) from exc
    if envelope.status is msgspec.UNSET:
        raise ApiError(
            f"{host} answered {what} without the API's envelope ({{status, result}}); "
            "check --base-url"
        )
    if envelope.status is not True:
        raise ApiError(f"{host} reported a failure for {what}: {server_message(body)}")
    if envelope.result is msgspec.UNSET:
        raise ApiError(f"{host} answered {what} with no result; retry later")
    return envelope.result


def shape_failure(what: str, where: str) -> ApiError:
    """The one message for an answer of the wrong shape (`where`: wire.shape_error's)."""
    return ApiError(
        f"the API answered {what} with an unexpected shape at {where}; is --base-url pointing "
        "at the Future AGI API? (re-run with --verbose for details)"
    )


def shape_error(exc: msgspec.ValidationError, root: str = "") -> str:
    """msgspec's "Expected `int`, got `str` - at `$.result.x[0]`" as "result.x[0]: expected int,
    got str" (`root`: the path of what was decoded, when it was not the whole answer), clipped:
    the path and values come from the answer."""
    message, _, path = str(exc).partition(" - at `$")
    detail = message.replace("`", "")
    detail = detail[:1].lower() + detail[1:]
    path = (root + path.rstrip("`")).lstrip(".") or "result"
    return f"{clip(path)}: {clip(detail)}"


def server_message(body: bytes) -> str:
    """The useful sentence of an error body: the JSON envelope's message, or a hint at HTML."""
    text = body[:65536].decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except RecursionError:
        return "JSON nested too deeply to be the API's"
    except ValueError:
        if "<html" in text[:1000].lower() or "<!doctype" in text[:1000].lower():
            return "an HTML page, not the API's JSON (a proxy or load balancer answered)"
        return clip(text, 120) or "an empty body"
    if isinstance(data, Mapping):
        result = data.get("result")
        details = data.get("details")
        for source in (data, result if isinstance(result, Mapping) else {}):
            for key in ("message", "detail", "error"):
                value = source.get(key)
                if isinstance(value, str) and value:
                    if value == "Validation failed" and isinstance(details, Mapping):
                        # DRF's 400: the reason is in the field errors.
                        value += ": " + "; ".join(
                            f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                            for k, v in details.items()
                        )
                    return clip(value, 160)
        details = data.get("details")
        if details:
            return clip(json.dumps(details), 160)
        return "no details"
    return clip(text, 120)


def about(answered: str | None, asked: str, what: str, host: str) -> None:
    """An answer must be about what was asked: the execution it names is the one requested
    (UUIDs compared as UUIDs). Another execution's data is never judged as this one's: a
    malformed answer (exit 3, never softened), whatever cache or proxy swapped it."""
    if answered is not None and same_execution(answered, asked):
        return
    raise ApiError(
        f"{host} answered {what} with the data of execution {clip(str(answered), 64)}: an "
        "answer about another execution is never judged; check --base-url and any proxy or "
        "cache in between"
    )


def as_uuid(value: Any) -> str | None:
    """An id as the canonical UUID it spells (case and braces aside), or None."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def same_execution(a: str, b: str) -> bool:
    """Two execution ids name the same execution (UUIDs compared as UUIDs)."""
    return (as_uuid(a) or a) == (as_uuid(b) or b)
