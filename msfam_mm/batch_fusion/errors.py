"""The error batch fusion raises for a bad argument value.

Library messages name the Python parameters (``out_dir``, ``batch_size``),
never command-line flags; a tool renders the same error in its own names
(``--out``, ``--batch-size``) with :meth:`ArgumentError.render`.
"""
import string
from typing import List, Mapping, Optional

__all__ = ['ArgumentError']


class ArgumentError(ValueError):
    """A bad argument value.

    Args:
        template: the message; ``{name}`` fields are argument names,
            positional fields (``{0}``, ``{1!r}``) the values (inserted as
            given, so braces in a path are safe).
        *values: the values of the positional fields.

    Example:
        >>> e = ArgumentError('{batch_size} must be >= 1, got {0}', 0)
        >>> str(e)
        'batch_size must be >= 1, got 0'
        >>> e.render({'batch_size': '--batch-size'})
        '--batch-size must be >= 1, got 0'
    """

    def __init__(self, template: str, *values) -> None:
        self.template = template
        self.values = values
        super().__init__(self.render())

    @property
    def arguments(self) -> List[str]:
        """The argument names the message refers to."""
        return [field for _, field, _, _ in
                string.Formatter().parse(self.template)
                if field and not field.isdigit()]

    def render(self, names: Optional[Mapping[str, str]] = None) -> str:
        """The message with each argument called ``names[argument]``
        (default: its own name)."""
        names = names or {}
        return self.template.format(
            *self.values, **{a: names.get(a, a) for a in self.arguments})
