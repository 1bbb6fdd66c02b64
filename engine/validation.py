"""Input checks shared by the whole engine, and their one error family.

Every check raises :class:`InputError` (a ``ValueError``) carrying the field, the allowed range or
choices, and the value given, so the CLI can map the field to its option name and the app can show
one sentence. ``DesignError`` (design fields) and ``SceneError`` (scene requests) are its kinds.
"""

from __future__ import annotations


class InputError(ValueError):
    """A parameter outside its allowed range or choices; names the field, the range and the value."""

    def __init__(self, field_name: str, allowed: str, value):
        self.field_name = field_name
        self.allowed = allowed
        self.value = value
        super().__init__(f"{field_name} must be {allowed}, got {value!r}")
