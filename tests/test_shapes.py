"""The typed decoders of API answers accept exactly what the shipped response schema accepts.

The schema (gate/schemas/api-responses.schema.json) is the reference; gate/model.py decodes
with msgspec records for speed and one error format. A valid answer, with a few fields replaced
by values of every JSON type or removed, must be accepted by both or refused by both.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.errors import ApiError
from gate.model import DetailShape, ListingShape, SummaryShape, parse_execution
from tests.conftest import ROOT

SCHEMAS = json.loads((ROOT / "gate" / "schemas" / "api-responses.schema.json").read_text())
DETAIL = json.loads((ROOT / "examples" / "seed-execution.json").read_text())["result"]
DETAIL.pop("call_results", None)  # calls have their own test (test_calls.py)

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    # Not integral: JSON Schema cannot tell 30.0 from 30 (one number), the decoders can (see
    # test_a_count_written_as_a_float_is_refused).
    st.floats(0, 100).filter(lambda f: not f.is_integer()),
    st.sampled_from(["completed", "2026-11-28T08:00:00Z", "c-1", "<b>", "a b", "x" * 101, ""]),
    st.just([1, "a"]),
    st.just({"k": 1}),
    st.just({"k": None}),
)


def _valid(shape: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{shape}", "$defs": SCHEMAS["$defs"]})


def _nodes(data: Any) -> list[dict[str, Any]]:
    """Every object in `data` (the execution, its evals, their configs, maps of numbers)."""
    found = []
    if isinstance(data, dict):
        found.append(data)
        for value in data.values():
            found += _nodes(value)
    elif isinstance(data, list):
        for value in data:
            found += _nodes(value)
    return found


@st.composite
def _mutated(draw: st.DrawFn, base: Any) -> Any:
    data = json.loads(json.dumps(base))
    nodes = _nodes(data)
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(nodes))
        if not target:
            continue
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            target[key] = draw(_ANY)
        else:
            del target[key]
    return data


def _accepts(data: Any, shape: type[Any]) -> bool:
    try:
        msgspec.json.decode(json.dumps(data), type=shape)
    except msgspec.ValidationError:
        return False
    return True


@settings(max_examples=500, derandomize=True, deadline=None)
@given(_mutated(DETAIL))
def test_the_detail_decoder_accepts_exactly_what_the_schema_accepts(data: Any) -> None:
    assert _accepts(data, DetailShape) == _valid("execution_detail").is_valid(data)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(_mutated(DETAIL))
def test_the_listing_entry_decoder_accepts_exactly_what_the_schema_accepts(data: Any) -> None:
    assert _accepts(data, SummaryShape) == _valid("execution_summary").is_valid(data)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(_mutated({"total_pages": 1, "current_page": 1, "count": 1, "results": [DETAIL]}))
def test_the_listing_decoder_accepts_exactly_what_the_schema_accepts(data: Any) -> None:
    by_schema = _valid("execution_list").is_valid(data)
    try:
        page = msgspec.json.decode(json.dumps(data), type=ListingShape)
        for raw in page.results:
            msgspec.json.decode(raw, type=SummaryShape)
        by_decoder = True
    except msgspec.ValidationError:
        by_decoder = False
    assert by_decoder == by_schema


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"total_calls": "30"}, "result.total_calls: expected int, got str"),
        ({"total_calls": None}, "result.total_calls: expected int, got null"),
        ({"execution_id": "<b>x</b>"}, "result.execution_id: expected str matching regex"),
        ({"eval_results": {"a": 1}}, "result.eval_results: expected array | null, got object"),
    ],
)
def test_one_shape_error_format_for_every_answer(change: dict[str, Any], where: str) -> None:
    """The detail, a saved file's content, and raw bytes all say where, the same way."""
    data = {**DETAIL, **change}
    for given_as in (data, json.dumps(data).encode()):
        with pytest.raises(ApiError) as caught:
            parse_execution(given_as)
        assert f"unexpected shape at {where}" in str(caught.value)


def test_a_count_written_as_a_float_is_refused() -> None:
    """The one place the decoders are stricter than the schema: JSON Schema counts `30.0` as
    the integer 30; the server writes counts as integers, and a count written otherwise is not
    the API's answer."""
    data = {**DETAIL, "total_calls": 30.0}
    assert _valid("execution_detail").is_valid(data)
    with pytest.raises(ApiError, match=r"result.total_calls: expected int, got float"):
        parse_execution(json.dumps(data).encode())
