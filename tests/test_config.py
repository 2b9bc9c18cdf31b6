"""``ceopgraph.config``: environment values parsed by their setting's type, a bad one refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceopgraph.config import Settings, SettingsError, _parser, _setting_types, load_settings


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        ("CEOPGRAPH_BASE_URI", "http://example.org/stats", "http://example.org/stats/"),  # str
        ("CEOPGRAPH_ENDPOINT", "http://127.0.0.1:9/sparql", "http://127.0.0.1:9/sparql"),  # str | None
        ("CEOPGRAPH_ENDPOINT", "", None),
        ("CEOPGRAPH_QUERY_PROCESSES", " 7 ", 7),  # int
        ("CEOPGRAPH_QUERY_TIMEOUT_S", "2.5", 2.5),  # float
        ("CEOPGRAPH_QUERY_TIMEOUT_S", "3", 3.0),
        ("CEOPGRAPH_DIST_DIR", "out/dist", Path("out/dist")),  # Path
        ("CEOPGRAPH_DATA_DIR", "/srv/ceop", Path("/srv/ceop")),  # Path | None
        ("CEOPGRAPH_DATA_DIR", "", None),
        ("CEOPGRAPH_TRUSTED_PROXIES", " 10.0.0.1, ,10.0.0.2 ,", ("10.0.0.1", "10.0.0.2")),  # tuple[str, ...]
        ("CEOPGRAPH_TRUSTED_PROXIES", "", ()),
    ],
)
def test_each_type_is_parsed_from_the_environment(variable: str, raw: str, expected: Any) -> None:
    settings = load_settings(environ={variable: raw})
    value = getattr(settings, variable.removeprefix("CEOPGRAPH_").lower())
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("variable", "raw", "says"),
    [
        ("CEOPGRAPH_QUERY_PROCESSES", "four", "not a whole number"),
        ("CEOPGRAPH_QUERY_PROCESSES", "2.5", "not a whole number"),
        ("CEOPGRAPH_QUERY_TIMEOUT_S", "10s", "not a finite number"),
        ("CEOPGRAPH_QUERY_TIMEOUT_S", "nan", "not a finite number"),
        ("CEOPGRAPH_VALIDATION_TIMEOUT_S", "inf", "not a finite number"),
        ("CEOPGRAPH_DIST_DIR", "", "not a non-empty path"),
        ("CEOPGRAPH_BASE_URI", "", "not non-empty text"),
        ("CEOPGRAPH_QUERY_STORE", "", "not non-empty text"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_the_value(variable: str, raw: str, says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={variable: raw})
    assert str(refused.value) == f"{variable}={raw!r} is {says}"
    assert isinstance(refused.value, ValueError)  # what callers of load_settings already catch


def test_every_setting_has_a_parser_for_its_type() -> None:
    """A setting of a type the environment cannot give fails here, not when someone first sets it."""
    types = _setting_types()
    assert set(types) == set(Settings.__dataclass_fields__)
    for kind in types.values():
        _parser(kind)


def test_a_type_without_a_parser_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="no parser for settings of type"):
        _parser(dict[str, int])
    with pytest.raises(TypeError, match="no parser for settings of type"):
        _parser(int | str | None)


def test_overrides_win_over_the_environment() -> None:
    settings = load_settings(environ={"CEOPGRAPH_QUERY_PROCESSES": "3"}, query_processes=5, endpoint=None)
    assert settings.query_processes == 5
    assert settings.endpoint is None
