"""The one error type of `bptt.data`: bad input data, as opposed to a misused parameter.

`DataError` is raised for problems with the data itself — a missing, unreadable, empty or
badly encoded file, a corpus too short for one batch, a non-numeric CSV value, characters
outside a vocabulary. It subclasses `ValueError`, so plain `except ValueError` still catches it,
and a command-line tool can map it to its own exit code (2). Misused parameters (a negative
batch size, a wrong type) raise the usual `ValueError`/`TypeError` from `bptt._validate`.
"""
from __future__ import annotations


class DataError(ValueError):
    """Input data that cannot be used; the message names the file or value at fault.

    Examples:
        >>> from bptt.data import DataError, Vocab
        >>> try:
        ...     Vocab("abc").encode("abd")
        ... except ValueError as err:                  # a DataError is a ValueError
        ...     print(type(err).__name__, err)
        DataError The 'text' argument of Vocab.encode contains 1 character(s) not in the
        vocabulary of size 3: 'd'.
    """
