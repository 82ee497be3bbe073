"""Suppressing a finding with a ``# noqa: CODE`` comment on the line ruff names for it.

An existing ``# noqa: A, B`` on that line gets the code appended, keeping the rest of the
comment as it is (``ruff --add-noqa`` rewrites it, dropping text after the codes); a comment
inside a string is not a comment (the tokenizer tells them apart).
"""

from __future__ import annotations

import io
import re
import tokenize

from shim_lsp.analysis.findings import lines_of

_DIRECTIVE = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)


def _comment_column(text: str, line: int) -> int | None:
    """Where the comment on ``line`` (0-based) starts; None when there is none. A text the
    tokenizer gives up on before that line counts as having its comment anywhere (-1)."""
    tokens = tokenize.generate_tokens(io.StringIO(text, newline="").readline)
    try:
        for token in tokens:
            row = token.start[0] - 1
            if row > line:
                return None
            if token.type == tokenize.COMMENT and row == line:
                return token.start[1]
    except (tokenize.TokenError, SyntaxError):
        return -1
    return None


def with_noqa(text: str, line: int, code: str) -> str:
    """``text`` with ``code`` suppressed on ``line``; unchanged when it already is."""
    lines = lines_of(text)
    if not 0 <= line < len(lines):
        return text
    full = lines[line]
    body = full.rstrip("\r\n")
    ending = full[len(body) :]
    column = _comment_column(text, line)
    directive = _DIRECTIVE.search(body, max(column, 0)) if column is not None else None
    if directive is not None:
        codes = directive.group("codes")
        if codes is None or code.upper() in re.split(r"[\s,]+", codes.upper()):
            return text  # a bare directive already suppresses everything on the line
        at = directive.end("codes")
        body = f"{body[:at]}, {code}{body[at:]}"
    else:
        body = f"{body.rstrip()}  # noqa: {code}"
    lines[line] = body + ending
    return "".join(lines)
