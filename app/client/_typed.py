"""Reading an answer straight into its model (msgspec, from bytes, one pass)."""

from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from ._errors import BankingAPIInvalidResponse, error_from_response

__all__ = ["invalid_response", "typed_answer"]


def invalid_response(what: str, problem: str, request_id: str | None) -> BankingAPIInvalidResponse:
    """The error for an answer that is not what the contract says.

    ``problem`` is msgspec's message, e.g. ``Expected `str`, got `int` - at `$.id```: it
    names the place and the expectation, not the value (which may be a secret).
    """
    reason, _, where = problem.partition(" - at ")
    where = where.strip("`") or "$"
    if reason.startswith("`"):
        # A check of the model itself names its field: "`ledger_balance` expected …".
        name, _, reason = reason[1:].partition("` ")
        where = f"{where}.{name}"
    return BankingAPIInvalidResponse(
        "INVALID_RESPONSE",
        f"The banking API answered an unexpected {what}: {problem}",
        502,
        [{"field": where, "code": "invalid_format", "reason": reason}],
        request_id,
    )


def typed_answer(
    response: httpx.Response,
    request_id: str,
    decoder: msgspec.json.Decoder[Any],
    what: str,
    unwrap: Callable[[httpx.Response, str], Any],
) -> Any:
    """Decode a successful answer with ``decoder``; raise the typed error otherwise.

    The CBA answers are decoded from the bytes as they came. A Digital Banking envelope
    (``{success, data}``) does not fit the model: it is unwrapped by ``unwrap`` (the
    untyped path, which also raises a failure envelope) and its ``data`` decoded.
    """
    if response.status_code >= 300:
        raise error_from_response(response, request_id=request_id)
    content = response.content
    if not content:
        raise invalid_response(what, "an empty answer", request_id)
    try:
        return decoder.decode(content)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        problem = str(exc)
    if _is_envelope(content):
        data = unwrap(response, request_id)
        try:
            return decoder.decode(msgspec.json.encode(data))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            problem = str(exc)
    raise invalid_response(what, problem, request_id)


def _is_envelope(content: bytes) -> bool:
    try:
        body = msgspec.json.decode(content)
    except msgspec.DecodeError:
        return False
    return isinstance(body, dict) and isinstance(body.get("success"), bool)
