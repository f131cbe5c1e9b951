"""``model.json_encoder``: the encoder built once gives exactly what ``json.dumps`` gives.

Digests of specs (recorded in every ledger) and the attribute lines of plans rest on it.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from reconciler.model import canonical_json, json_encoder, same_json

VALUES: list[Any] = [
    {"key": "f", "variations": [{"value": True}, {"value": False}], "temporary": True},
    {"z": 1, "a": [1.5, -0.0, 1e300, 3, None], "é": 'naïve \u2028 "quoted"\n\t\\'},
    [{"b": {"d": [], "c": {}}, "a": ""}],
    "just a string",
    12,
    2.0,
    None,
    False,
]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    scalars = [rng.random() * 1e6, rng.randint(-(10**12), 10**12), True, False, None, "é✓\x00"]
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(scalars)
    if rng.random() < 0.5:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        f"k{rng.randint(0, 50)}": _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))
    }


@pytest.mark.parametrize("value", VALUES + [_random_value(random.Random(n)) for n in range(200)])
def test_encoders_give_what_json_dumps_gives(value: Any) -> None:
    assert canonical_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    inline = json_encoder(item=", ", key=": ", sort_keys=False)
    assert inline(value) == json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def test_without_the_c_encoder_it_is_json_encoders_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = json_encoder(item=",", key=":", sort_keys=True)
    assert encode(VALUES[1]) == json.dumps(
        VALUES[1], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_a_c_encoder_of_another_signature_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    real = json.encoder.c_make_encoder
    made = []

    def other(markers: Any, *args: Any) -> Any:
        made.append(markers)
        if markers is None:  # the call json_encoder makes: as if the signature had changed
            raise TypeError("make_encoder() takes 10 arguments")
        return real(markers, *args)

    monkeypatch.setattr(json.encoder, "c_make_encoder", other)
    encode = json_encoder(item=",", key=":", sort_keys=True)
    assert made == [None]
    assert encode(VALUES[0]) == json.dumps(
        VALUES[0], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_a_value_that_cannot_be_json_is_refused_as_json_refuses_it() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_json({"a": {1, 2}})


def _variant(rng: random.Random, value: Any) -> Any:
    """``value`` with one scalar swapped for one ``==`` may confuse with it, or as it is."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        name = rng.choice(sorted(value))
        return {**value, name: _variant(rng, value[name])}
    if isinstance(value, list) and value and rng.random() < 0.7:
        i = rng.randrange(len(value))
        return [*value[:i], _variant(rng, value[i]), *value[i + 1 :]]
    if rng.random() < 0.2:
        return value
    kind = type(value)
    if kind is bool:
        return rng.choice([int(value), float(value)])
    if kind is int:
        return rng.choice([float(value), bool(value) if value in (0, 1) else -value])
    if kind is float:
        return -value if value == 0 else (int(value) if value.is_integer() else value)
    return value


@pytest.mark.parametrize("seed", range(300))
def test_same_json_is_equality_of_canonical_json(seed: int) -> None:
    rng = random.Random(seed)
    value = _random_value(rng)
    other = json.loads(json.dumps(_variant(rng, value), sort_keys=True))  # as a ledger reads it
    assert same_json(value, other) is (canonical_json(value) == canonical_json(other))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"value": True}, {"value": 1}),
        ({"onVariation": 1}, {"onVariation": 1.0}),
        ([0.0], [-0.0]),
        ({"v": [{"value": False}]}, {"v": [{"value": 0}]}),
    ],
)
def test_values_equal_to_python_but_not_as_json_are_not_the_same(a: Any, b: Any) -> None:
    assert a == b
    assert not same_json(a, b)
    assert not same_json(b, a)


def test_key_order_does_not_count() -> None:
    assert same_json(
        {"b": [1, {"d": 2.5, "c": True}], "a": "x"}, {"a": "x", "b": [1, {"c": True, "d": 2.5}]}
    )
