"""What every request body shares: strict numbers, printable text, no unknown fields.

pydantic's lax mode would take ``"5"`` for a number and ``1.0`` for a count, and plain
``str`` lets NUL and escape characters into stored notes. The annotated types below keep
the lax mode for what JSON has no type for (tuples, dates as strings) while refusing a
number sent as a string, a boolean sent as a number, and control characters in text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

from safemap.api.services.labels import FIELD_LABELS
from safemap.layers.labels import path_label
from safemap.layers.schemas import INT64_MAX, no_control_characters
from safemap.layers.validation import describe_error

__all__ = ["FIELD_LABELS", "field_label", "labelled_error"]

#: A number: an integer or a decimal JSON number, never a string or a boolean.
Float = Annotated[float, Strict()]
#: A whole number: a JSON integer, never a string, a boolean or ``1.0``.
Int = Annotated[int, Strict()]
#: Text without control characters (tab and line breaks allowed).
Text = Annotated[str, AfterValidator(no_control_characters)]
#: A row id as a body names it: a positive JSON integer the stores can hold.
BodyId = Annotated[int, Strict(), Field(ge=1, le=INT64_MAX)]


class RequestModel(BaseModel):
    """Base of every request body: unknown fields are refused (a typo is a 422, not ignored)."""

    model_config = ConfigDict(extra="forbid")


def field_label(loc: tuple[int | str, ...] | list[int | str]) -> str | None:
    """The Chinese label of a request field from its pydantic location, e.g. ``物质第1项·设计最大量``.

    ``("substances", 0, "quantity_t")`` → ``物质第1项·设计最大量``; unknown names are left out,
    and ``None`` when nothing in the location has a label.
    """
    return path_label(loc, FIELD_LABELS)


def labelled_error(err: Mapping[str, Any]) -> str:
    """One pydantic error of a request body in Chinese, led by the field's Chinese label when it has one."""
    label = field_label(tuple(err.get("loc") or ()))
    message = describe_error(err)
    return f"{label}：{message}" if label else message
