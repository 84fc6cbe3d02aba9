"""Execution data written by an attacker: every string field tries to break a renderer."""

from __future__ import annotations

from typing import Any

HOSTILE_NAMES = [
    "::error title=pwned::forged annotation",
    "x\n::add-mask::\n::set-output name=verdict::pass",
    "##[error]legacy command",
    "::stop-commands::abc",
    "a | b | c",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "# Fake heading",
    "[click me](https://evil.example/steal)",
    "www.evil.example",
    "@everyone please approve",
    "`code` **bold** _em_",
    "bidi \u202eevil\u202c and nul \x00 and esc \x1b[31mred",
    "line1\r\nline2",
    "FI_GATE_VERDICT=pass",
    "x@evil.example",
    "mailto:ceo@evil.example and https://evil.example/x",
    "soft\u00adhyphen, word\u2060joiner, tag\U000e0041s, \u061cmark, C1 \x85\x9b31m",
    "line\u2028separator",
    "]]><!-- -->&amp;",
]


def hostile_result() -> dict[str, Any]:
    evals = []
    summary: dict[str, Any] = {}
    for i, name in enumerate(HOSTILE_NAMES):
        evals.append(
            {
                "name": name,
                "id": f"id-{i}",
                "output_type": "Pass/Fail",
                "total_pass_rate": 10.0,
                "result": [
                    {
                        "name": name + " config",
                        "id": f"cfg-{i}",
                        "total_cells": 10,
                        "output": {"pass": 10.0, "fail": 90.0, "pass_count": 1, "fail_count": 9},
                    }
                ],
            }
        )
        summary[name] = [
            {
                "theme": name,
                "kind": "failure",
                "issues": [name],
                "guidance": name,
                "evidence_summary": name,
                "size": 3,
                "member_ids": [name],
            }
        ]
    return {
        "execution_id": "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10",
        "status": "completed",
        "started_at": "2026-11-28T08:00:00Z",
        "completed_at": "2026-11-28T08:20:00Z",
        "total_calls": 10,
        "completed_calls": 10,
        "failed_calls": 0,
        "eval_results": evals,
        "eval_explanation_summary": summary,
        "eval_explanation_summary_status": "completed",
    }


# Characters no output may carry raw: controls, bidi, zero-width, tags, separators.
INVISIBLE = "\x00\x1b\x85\x9b\u00ad\u061c\u200b\u2028\u202e\u2060\U000e0041"

HOSTILE_POLICY = "version: 1\ndefaults: {min_pass_rate: 50}\n"
