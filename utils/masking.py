"""Masking of contact data for roles that do not need to see it."""

SENSITIVE_FIELDS = frozenset({"phone", "address", "date_of_birth"})
SECRET_FIELDS = frozenset({"password", "password_hash", "code", "code_hash", "token", "token_hash"})


def mask_value(value) -> str:
    """Keep just enough to recognise a value: the last two characters of a phone, nothing else."""
    if value in (None, ""):
        return ""
    text = str(value)
    if len(text) <= 4:
        return "•" * len(text)
    return "•" * (len(text) - 2) + text[-2:]


def mask_changes(changes: dict) -> dict:
    """Audit-safe copy of a {field: value | [old, new]} dict: secrets hidden, contact data masked."""
    masked = {}
    for field, value in changes.items():
        if field in SECRET_FIELDS:
            masked[field] = "[hidden]"
        elif field in SENSITIVE_FIELDS:
            if isinstance(value, list | tuple):
                masked[field] = [mask_value(v) for v in value]
            else:
                masked[field] = mask_value(value)
        else:
            masked[field] = value
    return masked
