"""The typing rule of keyword columns: inference and promotion."""

from __future__ import annotations

import functools
import random

from hypothesis import given
from hypothesis import strategies as st

from astro_cloud_async.catalog.columns import (
    ColumnType,
    coerce,
    infer_type,
    promote,
    type_of,
    value_to_text,
)

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=5),
)


def test_type_of_each_kind() -> None:
    assert type_of(None) is ColumnType.NULL
    assert type_of(True) is ColumnType.BOOL
    assert type_of(3) is ColumnType.INT64
    assert type_of(2**63) is ColumnType.STRING  # does not fit int64
    assert type_of(1.5) is ColumnType.FLOAT64
    assert type_of("x") is ColumnType.STRING


def test_promotion_table() -> None:
    assert promote(ColumnType.INT64, ColumnType.FLOAT64) is ColumnType.FLOAT64
    assert promote(ColumnType.NULL, ColumnType.BOOL) is ColumnType.BOOL
    assert promote(ColumnType.BOOL, ColumnType.INT64) is ColumnType.STRING
    assert promote(ColumnType.BOOL, ColumnType.FLOAT64) is ColumnType.STRING
    assert promote(ColumnType.STRING, ColumnType.NULL) is ColumnType.STRING


@given(st.lists(values, max_size=12), st.randoms())
def test_inference_ignores_order_and_batching(items: list[object], rng: random.Random) -> None:
    whole = infer_type(items)
    shuffled = list(items)
    rng.shuffle(shuffled)
    cut = rng.randint(0, len(shuffled))
    per_batch = promote(infer_type(shuffled[:cut]), infer_type(shuffled[cut:]))
    assert per_batch is whole
    assert functools.reduce(promote, map(type_of, items), ColumnType.NULL) is whole


@given(st.lists(values, max_size=12))
def test_every_value_fits_its_promoted_column(items: list[object]) -> None:
    kind = infer_type(items)
    for value in items:
        converted = coerce(value, kind)
        if value is None:
            assert converted is None
        elif kind is ColumnType.STRING:
            assert converted == value_to_text(value)
        elif kind is ColumnType.FLOAT64:
            assert isinstance(converted, float) and converted == value
        else:
            assert converted == value and type_of(converted) is kind


def test_text_spelling() -> None:
    assert value_to_text(True) == "True"
    assert value_to_text(0.1) == "0.1"
    assert value_to_text(12) == "12"
    assert value_to_text("T") == "T"
