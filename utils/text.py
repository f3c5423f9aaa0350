"""Checks of free text against what the database can store: length limits and control characters.

PostgreSQL refuses a value longer than its varchar column (a DataError, which was a 500 past the
point of no return) and cannot store a NUL byte at all; SQLite accepts both silently. These checks
run where input first arrives (imports' dry runs, services), so the refusal names the field.
"""

import unicodedata


def model_max_length(model, field_name: str) -> int | None:
    return model._meta.get_field(field_name).max_length


def has_control_characters(value: str, *, allow_newlines: bool = False) -> bool:
    """NUL, escape, bell… (Unicode category Cc); tab and line breaks too, unless the text is multi-line."""
    allowed = {"\n", "\r", "\t"} if allow_newlines else set()
    return any(ch not in allowed and unicodedata.category(ch) == "Cc" for ch in value)


def text_problems(value: str, *, label: str, max_length: int | None, single_line: bool = True) -> list[str]:
    """The reasons `value` cannot be stored as `label`, as sentences for the person who typed it."""
    problems = []
    if max_length is not None and len(value) > max_length:
        problems.append(f"{label} is {len(value):,} characters long; at most {max_length:,} fit.")
    if has_control_characters(value, allow_newlines=not single_line):
        problems.append(f"{label} holds a control character (such as a NUL byte); remove it.")
    return problems


def without_control_characters(value: str) -> str:
    """For lookups only (a refused value is never stored): PostgreSQL cannot even compare a NUL byte."""
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cc")
