"""Errors that name the one input at fault, as the services raise them.

Both build a :mod:`safemap.layers.errors` exception whose message is ``"field: message"``
and whose single :class:`~safemap.layers.errors.Problem` names the field, so every caller
(HTTP, CLI) can point at what to change.
"""

from __future__ import annotations

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
    return cls(f"{field}: {message}", [Problem(field, message)])


def invalid(field: str, message: str) -> Unprocessable:
    """A 422-kind error naming ``field`` (see :func:`bad`)."""
    return Unprocessable(f"{field}: {message}", [Problem(field, message)])


def invalid_all(problems: list[Problem]) -> Unprocessable:
    """A 422-kind error listing several problems; the message names the first."""
    return Unprocessable(f"{problems[0].field}: {problems[0].message}", problems)


__all__ = ["bad", "invalid", "invalid_all"]
