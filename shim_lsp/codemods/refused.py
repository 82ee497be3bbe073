"""A codemod's refusal of one file, given to the user as it is written."""

from __future__ import annotations


class Refused(Exception):
    """The codemod will not change this file (the change could alter what the code does);
    its message says why in the user's words, and is shown without the class's name."""
