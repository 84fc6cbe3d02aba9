"""The command line's parser class: argparse without abbreviations, and the message for an
option no command defines (with a did-you-mean)."""

from __future__ import annotations

import argparse
from typing import Any

from gate import redact
from gate.console import PROG


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations (`--pol` is not `--policy`, and `run --wait` is not
    `--wait-for-summary`: a prefix that works today breaks when a flag is added), keeping the
    flags it defines so that an unknown one gets a did-you-mean."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.flags: list[str] = []
        self.commands: dict[str, Parser] = {}
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        action = super().add_argument(*args, **kwargs)
        self.flags.extend(action.option_strings)
        return action

    def grouped(self, title: str) -> Any:
        """An argument group whose flags this parser keeps too."""
        group = self.add_argument_group(title)
        parser = self

        class Group:
            def add_argument(self, *args: Any, **kwargs: Any) -> Any:
                action = group.add_argument(*args, **kwargs)
                parser.flags.extend(action.option_strings)
                return action

        return Group()

    def unknown_options(self, words: list[str]) -> str:
        """The message for the first option the command does not define ("" when none): told
        before argparse's own errors (a missing argument), and never matched by prefix."""
        command = words[0] if words and words[0] in self.commands else None
        own = self.commands[command] if command else self
        for word in words[1 if command else 0 :]:
            if word == "--":
                break
            if word.startswith("--") and word.split("=", 1)[0] not in own.flags:
                return self.unknown(command, [word])
        return ""

    def unknown(self, command: str | None, words: list[str]) -> str:
        """The message for options that no parser of this command defines."""
        from gate.hints import did_you_mean  # not before: --version stays lean

        word = next((w for w in words if w.startswith("-")), words[0])
        flag = word.split("=", 1)[0]
        own = self.commands.get(command or "", self)
        where = f"`{PROG} {command}`" if command else PROG
        if not flag.startswith("-"):
            return f"unexpected argument {redact.clip(word, 40)!r} for {where}; see --help"
        others = [n for n, p in self.commands.items() if n != command and flag in p.flags]
        note = NOTES.get((command or "", flag)) or (
            f"{flag} is an option of `{PROG} {others[0]}`" if others else ""
        )
        hint = "" if others else did_you_mean(flag, own.flags, cutoff=0.6)
        return (
            f"unknown option {redact.clip(flag, 40)!r} for {where}{hint}"
            + (f" ({note})" if note else "")
            + "; options are never abbreviated: see --help"
        )


# Why an option of another command is not one of this one.
NOTES = {("run", "--wait"): "`fi-gate run` always waits for the execution it starts"}
