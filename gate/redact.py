"""The keys never appear anywhere: not whole, not in part, not escaped.

A server message clipped at 160 characters can hold most of a key; the markdown summary
escapes it (`canary\\-api\\-key`), which exact-value masking (and GitHub's `::add-mask::`)
miss. So any 8-character piece of a key counts as the key, a backslash between characters
does not hide it, and every text from the server is scrubbed before it is clipped or escaped
(`clip`), and every output once more before it is written.

The keys are registered once per run by the CLI (`register`); with none registered, `scrub`
returns its text unchanged.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable

MIN_SECRET_LENGTH = 6  # shorter values would mangle every message, and cannot be real keys
PIECE = 8  # any piece of a key this long is the key
MASK = "***"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        pieces: set[str] = set()
        for secret in (s.strip() for s in secrets):  # a key pasted with its newline
            if len(secret) < MIN_SECRET_LENGTH:
                continue
            if len(secret) < PIECE:
                pieces.add(secret)
            else:
                pieces.update(secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1))
        self.secrets = tuple(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)
        self._pattern: re.Pattern[str] | None = None
        if pieces:
            # Each piece, with an optional backslash (a markdown escape) between characters;
            # in a lookahead, so that overlapping pieces are all found.
            alternatives = sorted((r"\\?".join(map(re.escape, p)) for p in pieces), key=len)
            self._pattern = re.compile("(?=(" + "|".join(reversed(alternatives)) + "))")
            self._first = frozenset(p[0] for p in pieces)

    def scrub(self, text: str) -> str:
        if self._pattern is None or not text or self._first.isdisjoint(text):
            return text
        hidden = bytearray(len(text))
        found = False
        for m in self._pattern.finditer(text):
            start, end = m.span(1)
            hidden[start:end] = b"\x01" * (end - start)
            found = True
        if not found:
            return text
        out: list[str] = []
        i = 0
        while i < len(text):
            if hidden[i]:
                while i < len(text) and hidden[i]:
                    i += 1
                out.append(MASK)
            else:
                j = hidden.find(1, i)
                j = len(text) if j < 0 else j
                out.append(text[i:j])
                i = j
        return "".join(out)


_CURRENT = Redactor()
_LOCK = threading.Lock()


def register(secrets: Iterable[str]) -> Redactor:
    """The run's keys: from now on `scrub` hides them wherever text is made."""
    global _CURRENT
    with _LOCK:
        _CURRENT = Redactor(secrets)
    return _CURRENT


def scrub(text: str) -> str:
    return _CURRENT.scrub(text)


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_ASCII = re.compile(r"[^\x00-\x7e]")
# Control, format (bidi overrides, zero-width characters, tags), separator, surrogate,
# private-use and unassigned characters: invisible or misleading in any output.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _HIDDEN


def visible(text: str) -> str:
    """`text` with every control, bidi, invisible or unassigned character made a space."""
    text = _ASCII_CONTROL.sub(" ", text)
    if text.isascii():
        return text
    return _NOT_ASCII.sub(lambda m: " " if hidden(m.group()) else m.group(), text)


def clip(text: object, limit: int = 200, *, fold: bool = True) -> str:
    """Text from the server (or anything it touched), fit for a message or a report: the keys
    masked first (so that no part of one survives the cut), control, bidi and invisible
    characters made spaces, whitespace folded into one line (unless `fold` is false), at most
    `limit` characters. The one clipping helper: every renderer and message goes through it."""
    clean = visible(scrub(str(text)))
    if fold:
        clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
