"""The shape of the code, as docs/architecture.md describes it, held by tests.

- the command line stays small, and no function grows past a screen;
- the renderers and the verdict import nothing of the policy loader, the judgement, PyYAML or
  msgspec, so that writing a report loads no parser;
- nothing reaches into a library's private parts;
- the two recipes work as written: an output format is a renderer and one row of the output
  registry (followed here with a test-only TAP renderer); a threshold kind is a schema property
  and one row of the Metric table (followed for real: `max_avg_score`, test_evaluate.py);
- the judging module works with any API client: it is driven here by a stub, without argparse.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gate import outputs
from gate.cli import _parser
from gate.console import Console
from gate.judge import Judge
from gate.model import parse_execution
from gate.policy import parse_policy
from gate.settings import capture, resolve
from gate.verdict import GateResult
from tests.conftest import ROOT, SEED, run, write_policy

GATE = ROOT / "gate"
SOURCES = sorted(GATE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_command_line_is_the_parser_main_dispatch_and_signals() -> None:
    assert len((GATE / "cli.py").read_text().splitlines()) <= 350


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_is_longer_than_60_lines(path: Path) -> None:
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[operator]
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > 60  # type: ignore[operator]
    ]
    assert long == []


def test_the_environment_is_read_once_at_the_top() -> None:
    """`os.environ` is read by cli.main only; only settings.py (the resolver) and cli.py see
    the snapshot; no function below takes an `environ`. Everything else receives settings."""
    readers = {"cli.py", "settings.py", "environment.py"}
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        where = str(path.relative_to(GATE))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
                assert where == "cli.py", f"{where}:{node.lineno} reads os.{node.attr}"
            if isinstance(node, ast.arg) and node.arg in {"environ", "env"}:
                assert where in readers, f"{where}:{node.lineno} receives the environment"
        if where not in readers:
            assert "gate.environment" not in _imports(path), where
    env = capture({"FI_API_KEY": "k", "PATH": "/bin", "GITHUB_ACTIONS": "true"})
    assert env.values(["FI_API_KEY"]) == {"FI_API_KEY": "k"}
    assert env.text("GITHUB_ACTIONS") == "true"
    assert "PATH" not in env.names


def test_renderers_and_the_verdict_import_no_parser_and_no_judgement() -> None:
    lean = [GATE / "verdict.py", GATE / "metrics.py", *sorted((GATE / "render").glob("*.py"))]
    forbidden = {"gate.evaluate", "gate.policy", "gate.model", "gate.calls", "gate.wire"}
    forbidden |= {"yaml", "msgspec", "jsonschema", "gate.yamldoc", "gate.history"}
    for path in lean:
        assert _imports(path) & forbidden == set(), path.name


def test_importing_the_markdown_renderer_loads_neither_yaml_nor_msgspec() -> None:
    code = "import sys, gate.render.markdown; print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(done.stdout))
    assert "gate.render.markdown" in loaded
    assert loaded & {"yaml", "msgspec", "jsonschema", "gate.policy", "gate.evaluate"} == set()


def test_no_private_attribute_of_a_library_is_used() -> None:
    """No `x._name` on anything but fi-gate's own objects, and no HTTP library underneath:
    the transport is the standard library's http.client through its public interface."""
    for path in SOURCES:
        assert _imports(path) & {"requests", "urllib3"} == set(), path.name
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            if node.attr.startswith("__") and node.attr.endswith("__"):
                continue
            owner = node.value
            assert isinstance(owner, ast.Name) and owner.id in {"self", "cls"}, (
                f"{path.name}:{node.lineno}: .{node.attr}"
            )


# --- the output-format recipe, followed with a test-only format ----------------------------


def render_tap(result: GateResult) -> str:
    """Test Anything Protocol: one line a check. The renderer of the recipe's step 1."""
    checks = [c for v in result.verdicts for c in v.checks]
    lines = [f"1..{len(checks)}"]
    for n, c in enumerate(checks, start=1):
        lines.append(f"{'not ok' if c.blocks else 'ok'} {n} - {c.label} {c.metric}")
    return "\n".join(lines) + "\n"


TAP = outputs.Output(
    "tap", "--tap", "FI_GATE_TAP", "write a TAP report here", f"{__name__}:render_tap"
)


@pytest.fixture
def with_tap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe's step 2: one row of the output registry (here added for this test only)."""
    monkeypatch.setattr(outputs, "OUTPUTS", (*outputs.OUTPUTS, TAP))


@pytest.mark.usefixtures("with_tap")
def test_an_output_format_is_one_renderer_and_one_row(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 90}\n")
    assert _parser().parse_args(["check", "--tap", "t.tap"]).tap == "t.tap"  # a flag of its own
    by_flag = tmp_path / "flag.tap"
    result = run(["check", "--policy", policy, "--from-file", str(SEED), "--tap", str(by_flag)])
    assert result.code == 1, result.err
    assert by_flag.read_text().splitlines()[0].startswith("1..")
    assert "not ok" in by_flag.read_text()  # the failing is_helpful check
    by_env = tmp_path / "env.tap"
    result = run(
        ["check", "--policy", policy, "--from-file", str(SEED)], {"FI_GATE_TAP": str(by_env)}
    )
    assert by_env.read_text() == by_flag.read_text()


# --- judging with a stub client --------------------------------------------------------------


class StubClient:
    """What the judging module asks of a client, answered from memory: no HTTP, no argparse."""

    def __init__(self, detail: dict[str, Any]) -> None:
        self.detail = detail
        self.asked: list[str] = []
        self.requests_made = 0
        self.host = "stub"

    def __enter__(self) -> StubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execution_and_calls(self, execution_id: str, **_: Any) -> tuple[Any, None]:
        self.asked.append(execution_id)
        return parse_execution(self.detail), None


def test_the_judging_module_takes_its_client_as_a_parameter() -> None:
    import json
    import uuid

    detail = {**json.loads(SEED.read_text())["result"], "execution_id": str(uuid.uuid4())}
    stub = StubClient(detail)
    settings = resolve(
        _parser().parse_args(["check"]), capture({"FI_GATE_EXECUTION_ID": detail["execution_id"]})
    )
    policy = parse_policy("version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n")
    judge = Judge(settings, Console(None), lambda s, deadline: stub)  # type: ignore[arg-type,return-value]
    verdict = judge.one(policy)
    assert stub.asked == [detail["execution_id"]]
    assert (verdict.exit_code, verdict.selection) == (0, "execution-id")
    strict = judge.one(
        replace(
            policy,
            evals=parse_policy("version: 1\nevals:\n  is_helpful: {min_pass_rate: 81}\n").evals,
        )
    )
    assert strict.verdict == "fail"
