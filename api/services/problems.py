"""Errors that name the one input at fault, as the services raise them.

Both build a :mod:`safemap.layers.errors` exception whose message names the field in Chinese
(``容积（m³）：应为 0–1000000 之间的数``, see :func:`~safemap.api.services.labels.message_for`)
and whose single :class:`~safemap.layers.errors.Problem` names the field by its code, so every
caller (HTTP, CLI) can point at what to change.
"""

from __future__ import annotations

from safemap.api.services.labels import message_for
from safemap.layers.errors import BadQuery, LayerError, Problem, Unprocessable


def bad(field: str, message: str, status: int = 400) -> LayerError:
    """An error naming one input.

    Parameters
    ----------
    field
        The parameter or body field at fault (``"vehicle"``, ``"teams.0.route"``).
    message
        Why, in words for the user.
    status
        400 for a malformed query parameter (:class:`BadQuery`), anything else for an
        input that cannot be acted on (:class:`Unprocessable`, 422).

    Returns
    -------
    LayerError
        The exception, to be raised by the caller.
    """
    cls = BadQuery if status == 400 else Unprocessable
    return cls(message_for(field, message), [Problem(field, message)])


def invalid(field: str, message: str) -> Unprocessable:
    """A 422-kind error naming ``field`` (see :func:`bad`)."""
    return Unprocessable(message_for(field, message), [Problem(field, message)])


def invalid_all(problems: list[Problem]) -> Unprocessable:
    """A 422-kind error listing several problems; the message names the first."""
    return Unprocessable(message_for(problems[0].field, problems[0].message), problems)


__all__ = ["bad", "invalid", "invalid_all"]
