"""Retention policies: how many versions of which keys are kept, and for how long.

A policy names keys with a glob (`*` any run of characters, `?` one character) over
artifact keys (lowercase letters, digits and dashes). It keeps the last `keep_last`
versions of each key, and/or the versions younger than `keep_days` days: a version
is kept when either rule keeps it, and a key's latest version is always kept.

When several patterns match a key, the most specific wins (`specificity`): an exact
key before any glob, then the pattern with more literal characters, then the one with
fewer `*`, then the alphabetically first (so the choice never depends on order).
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from runfolio.schemas.common import NUMBER_ONLY, ActionModel, DateTime, ObjectModel

PATTERN_MAX = 200
KEEP_LAST_MAX = 1_000_000
KEEP_DAYS_MAX = 36_500.0  # a hundred years
# The JSON Schema form of the rule, for the OpenAPI document.
PATTERN_RULE = "^[a-z0-9*?-]+$"
_PATTERN = re.compile(PATTERN_RULE)
WILDCARDS = "*?"


class RetentionPolicySet(ActionModel):
    """Set the policy of a key pattern (replacing the one it had)."""

    # "At least one rule", in the document too, so clients can know it before asking.
    model_config = ActionModel.model_config | ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["keep_last"], "properties": {"keep_last": {"type": "integer"}}},
                {"required": ["keep_days"], "properties": {"keep_days": {"type": "number"}}},
            ]
        }
    )

    key_pattern: str = Field(
        min_length=1,
        max_length=PATTERN_MAX,
        pattern=PATTERN_RULE,
        description="A glob over keys: lowercase letters, digits, dashes, `*` (any run of "
        "characters) and `?` (one character); `*` alone matches every key.",
    )
    keep_last: Annotated[int, Field(ge=1, le=KEEP_LAST_MAX), NUMBER_ONLY] | None = Field(
        default=None, description="Keep this many newest versions of each key."
    )
    keep_days: float | None = Field(
        default=None,
        gt=0,
        le=KEEP_DAYS_MAX,
        allow_inf_nan=False,
        description="Keep the versions younger than this many days (fractions allowed).",
    )

    @model_validator(mode="after")
    def _one_rule_at_least(self) -> RetentionPolicySet:
        if self.keep_last is None and self.keep_days is None:
            raise ValueError("give keep_last, keep_days or both: a policy must keep something")
        return self


class RetentionPolicy(ObjectModel):
    id: uuid.UUID
    key_pattern: str
    keep_last: int | None
    keep_days: float | None
    created_by: str | None = None
    created: DateTime
    updated: DateTime


def valid_pattern(pattern: str) -> bool:
    return 0 < len(pattern) <= PATTERN_MAX and _PATTERN.fullmatch(pattern) is not None


def specificity(pattern: str) -> tuple[bool, int, int, str]:
    """A sort key: the smallest is the most specific pattern (see the module's text)."""
    literal = sum(1 for c in pattern if c not in WILDCARDS)
    exact = not any(c in WILDCARDS for c in pattern)
    return (not exact, -literal, pattern.count("*"), pattern)


def most_specific_first(patterns: list[str]) -> list[str]:
    return sorted(patterns, key=specificity)


def matches(pattern: str, key: str) -> bool:
    # fnmatchcase: no case folding (keys are lowercase anyway), and `[` cannot occur.
    return fnmatch.fnmatchcase(key, pattern)
