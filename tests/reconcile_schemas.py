"""JSON Schemas (2020-12) of the Reconciliation Service API 0.2's answers, written here from the field rules
of the specification (Final Community Group Report, 10 April 2023), sections by section: what is required,
each field's JSON type, the ``{{id}}`` a URL template must hold, and the value forms of data extension. No
package of PyPI or npm ships the specification's own schemas (py-reconciliation-service-api is a client with
models of its own), so the tests check against these.

They are stricter than the specification where our service promises more (``match`` and ``type`` on every
candidate), never looser.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_TEMPLATE = {"type": "string", "pattern": r"\{\{id\}\}"}
_TYPE: Schema = {  # a type: an id and a name
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "string", "minLength": 1}, "name": {"type": "string"}},
}
_SERVICE: Schema = {  # where a service is: its URL and a path appended to it
    "type": "object",
    "properties": {"service_url": {"type": "string", "pattern": "^https?://"}, "service_path": {"type": "string"}},
}
_SETTING: Schema = {
    "type": "object",
    "required": ["type", "label", "name"],
    "properties": {
        "type": {"enum": ["number", "text", "checkbox", "select"]},
        "label": {"type": "string"},
        "name": {"type": "string"},
        "help_text": {"type": "string"},
    },
}

MANIFEST: Schema = {
    "type": "object",
    "required": ["versions", "name", "identifierSpace", "schemaSpace"],
    "properties": {
        "versions": {"type": "array", "items": {"type": "string"}, "contains": {"const": "0.2"}},
        "name": {"type": "string", "minLength": 1},
        "identifierSpace": {"type": "string", "minLength": 1},
        "schemaSpace": {"type": "string", "minLength": 1},
        "documentation": {"type": "string"},
        "defaultTypes": {"type": "array", "items": _TYPE, "uniqueItems": True},
        "view": {"type": "object", "required": ["url"], "properties": {"url": _TEMPLATE}},
        "preview": {
            "type": "object",
            "required": ["url", "width", "height"],
            "properties": {"url": _TEMPLATE, "width": {"type": "integer"}, "height": {"type": "integer"}},
        },
        "suggest": {
            "type": "object",
            "properties": {"entity": _SERVICE, "type": _SERVICE, "property": _SERVICE},
            "additionalProperties": False,
        },
        "extend": {
            "type": "object",
            "properties": {"propose_properties": _SERVICE, "property_settings": {"type": "array", "items": _SETTING}},
        },
    },
}

_CANDIDATE: Schema = {
    "type": "object",
    "required": ["id", "name", "score", "match", "type"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "score": {"type": "number"},
        "match": {"type": "boolean"},
        "type": {"type": "array", "items": _TYPE},
    },
}
RESULT_BATCH: Schema = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["result"],
        "properties": {"result": {"type": "array", "items": _CANDIDATE}},
    },
}

_SUGGESTED: Schema = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "notable": {"type": "array", "items": _TYPE},
    },
}
SUGGEST: Schema = {
    "type": "object",
    "required": ["result"],
    "properties": {"result": {"type": "array", "items": _SUGGESTED}},
}

PROPERTY_PROPOSAL: Schema = {
    "type": "object",
    "required": ["properties"],
    "properties": {
        "type": {"type": "string"},
        "limit": {"type": "number"},
        "properties": {"type": "array", "items": _TYPE},
    },
}

# Data extension: each value is exactly one of these forms (a date is an ISO 8601 date and time).
_DATE_TIME = (
    r"^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
)
_VALUE: Schema = {
    "oneOf": [
        {"type": "object", "additionalProperties": False, "maxProperties": 0},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "name"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"}},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["str"],
            "properties": {"str": {"type": "string"}},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["float"],
            "properties": {"float": {"type": "number"}},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["int"],
            "properties": {"int": {"type": "integer"}},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["date"],
            "properties": {"date": {"type": "string", "pattern": _DATE_TIME}},
        },
    ]
}
EXTENSION: Schema = {
    "type": "object",
    "required": ["meta", "rows"],
    "properties": {
        "meta": {
            "type": "array",
            "items": {**_TYPE, "properties": {**_TYPE["properties"], "type": _TYPE, "service": {"type": "string"}}},
        },
        "rows": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "array", "items": _VALUE}},
        },
    },
}
