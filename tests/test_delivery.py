"""What ships besides the package: action.yml, the GitLab component, the Dockerfile and the
README's CI snippets, checked against their schemas and against what the CLI really reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.render import github
from gate.verdict import GateResult
from tests.conftest import ROOT, SEED, run, write_policy
from tests.test_readme import EXAMPLES, bash

BIN = Path(sys.executable).parent
CLI_SOURCE = "".join(p.read_text() for p in sorted((ROOT / "gate").rglob("*.py")))
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
COMPONENT = list(yaml.safe_load_all((ROOT / "templates" / "fi-gate.yml").read_text()))


def check_jsonschema(schema: str, data: Any, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Validate data (or a YAML file, given its Path) with check-jsonschema's vendored schema."""
    if isinstance(data, Path):
        path = data
    else:
        path = tmp_path / f"doc-{len(list(tmp_path.glob('doc-*')))}.yml"
        path.write_text(yaml.safe_dump(data))
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


# --- the GitHub action -------------------------------------------------------------------------


def test_every_action_input_reaches_the_cli_through_an_explicit_env_mapping() -> None:
    env = ACTION["runs"]["env"]
    # The one constant: the interface the CLI names its inputs for (hints.for_interface).
    assert env["FI_GATE_INTERFACE"] == "github-action"
    mapped = {
        re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", v).group(1): k  # type: ignore[union-attr]
        for k, v in env.items()
        if k != "FI_GATE_INTERFACE"
    }
    assert set(mapped) == set(ACTION["inputs"])
    for name, variable in mapped.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", variable), f"{variable} is not a shell name"
        assert f'"{variable}"' in CLI_SOURCE, f"input {name}: the CLI never reads {variable}"
    assert ACTION["runs"] == {
        "using": "docker",
        "image": "Dockerfile",
        "args": ["check"],
        "env": env,
    }
    assert len(ACTION["description"]) < 125  # the Marketplace's limit
    for spec in ACTION["inputs"].values():
        assert spec["description"]
        assert "default" in spec


def test_action_outputs_are_the_ones_written() -> None:
    written = re.findall(
        r"^([a-z-]+)<<", github.outputs(GateResult((_any_verdict(),)), {"report": "r"}), re.M
    )
    assert set(written) == set(ACTION["outputs"])


def _any_verdict() -> Any:
    from datetime import datetime, timezone

    from gate.verdict import Verdict

    return Verdict(
        verdict="pass",
        exit_code=0,
        run_test=None,
        execution=None,
        checks=(),
        clusters=(),
        generated_at=datetime.now(timezone.utc),
    )


def test_action_inputs_behave_like_flags(tmp_path: Path) -> None:
    """The env the action sets, as the runner fills it, drives the CLI."""
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n")
    step, out = tmp_path / "summary.md", tmp_path / "out.txt"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(step),
        "GITHUB_OUTPUT": str(out),
        "FI_GATE_POLICY": policy,
        "FI_GATE_REPORT": str(tmp_path / "r.json"),
        "FI_GATE_JUNIT": str(tmp_path / "j.xml"),
        "FI_GATE_STEP_SUMMARY": "false",
        "FI_GATE_RUN_TEST": "",
        "FI_GATE_EXECUTION_ID": "",
        "FI_GATE_INPUT_API_KEY": "",
    }
    result = run(["check", "--from-file", str(SEED)], env=env)
    assert result.code == 0, result.err
    assert (tmp_path / "r.json").exists()
    assert (tmp_path / "j.xml").exists()
    assert not step.exists()  # summary: false
    assert "report<<" in out.read_text()


def test_action_keys_from_inputs_win_and_workflow_env_still_works(tmp_path: Path) -> None:
    from gate.cli import _parser
    from gate.settings import capture, resolve

    args = _parser().parse_args(["check"])
    both = resolve(
        args,
        capture(
            {
                "FI_GATE_INPUT_API_KEY": "from-input",
                "FI_API_KEY": "from-env",
                "FI_GATE_INPUT_SECRET_KEY": "",
                "FI_SECRET_KEY": "secret-env",
            }
        ),
    )
    assert (both.api_key, both.secret_key) == ("from-input", "secret-env")
    url = resolve(
        args, capture({"FI_GATE_INPUT_BASE_URL": "", "FI_BASE_URL": "https://eu.example.com"})
    )
    assert url.base_url == "https://eu.example.com"


def test_action_metadata_and_workflows_validate(tmp_path: Path) -> None:
    assert check_jsonschema("vendor.github-actions", ACTION, tmp_path).returncode == 0
    for path in [
        *(ROOT / ".github" / "workflows").glob("*.yml"),
        ROOT / "examples" / "github-workflow.yml",
    ]:
        done = check_jsonschema("vendor.github-workflows", path, tmp_path)
        assert done.returncode == 0, (path, done.stdout)
    dependabot = check_jsonschema(
        "vendor.dependabot", ROOT / ".github" / "dependabot.yml", tmp_path
    )
    assert dependabot.returncode == 0, dependabot.stdout


def test_readme_github_snippet_is_a_valid_pinned_workflow(tmp_path: Path) -> None:
    jobs = yaml.safe_load(EXAMPLES["github-snippet"])
    workflow = {"name": "agent", "on": {"pull_request": {}}, "permissions": {}, **jobs}
    assert check_jsonschema("vendor.github-workflows", workflow, tmp_path).returncode == 0
    path = tmp_path / "workflow.yml"
    path.write_text(yaml.safe_dump(workflow))
    done = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--config", str(ROOT / "zizmor.yml"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    step = jobs["jobs"]["gate"]["steps"][1]
    assert set(step["with"]) <= set(ACTION["inputs"])


# --- the GitLab component ----------------------------------------------------------------------


def test_component_declares_every_input_it_uses(tmp_path: Path) -> None:
    spec, job = COMPONENT
    declared = spec["spec"]["inputs"]
    used = set(
        re.findall(r"\$\[\[ inputs\.(\w+) \]\]", (ROOT / "templates" / "fi-gate.yml").read_text())
    )
    assert used == set(declared)
    for name, value in declared.items():
        assert set(value) <= {"default", "description", "options", "regex", "type"}, name
        assert "options" not in value or value["default"] in value["options"]
    (body,) = job.values()
    assert body["image"]["entrypoint"] == [""]
    assert body["artifacts"]["when"] == "always"
    script = " ".join(body["script"])
    assert body["artifacts"]["reports"]["junit"] in script
    assert body["artifacts"]["reports"]["dotenv"] in script
    for path in body["artifacts"]["paths"]:
        assert path in script
    for variable in body["variables"]:
        assert f'"{variable}"' in CLI_SOURCE
    for doc in COMPONENT:
        assert check_jsonschema("vendor.gitlab-ci", doc, tmp_path).returncode == 0


def test_gitlab_examples_validate(tmp_path: Path) -> None:
    example = yaml.safe_load((ROOT / "examples" / "gitlab-ci.yml").read_text())
    assert check_jsonschema("vendor.gitlab-ci", example, tmp_path).returncode == 0
    snippet = yaml.safe_load(EXAMPLES["gitlab-snippet"])
    assert check_jsonschema("vendor.gitlab-ci", snippet, tmp_path).returncode == 0
    assert set(snippet["include"][0]["inputs"]) <= set(COMPONENT[0]["spec"]["inputs"])


def test_the_repository_tests_and_publishes_its_component_on_gitlab(tmp_path: Path) -> None:
    """.gitlab-ci.yml includes the component of its own commit (a pass and a fail against the
    fake API), checks the reports it leaves, and releases a tag to the CI/CD catalog."""
    ci = yaml.safe_load((ROOT / ".gitlab-ci.yml").read_text())
    assert check_jsonschema("vendor.gitlab-ci", ci, tmp_path).returncode == 0
    spec = set(COMPONENT[0]["spec"]["inputs"])
    included = [i for i in ci["include"] if "component" in i]
    assert {i["inputs"]["job_name"] for i in included} == {"component-passes", "component-fails"}
    for item in included:
        assert item["component"].endswith("/fi-gate@$CI_COMMIT_SHA")
        assert set(item["inputs"]) <= spec
        assert "python -m tests.fakeapi" in " ".join(
            ci[item["inputs"]["job_name"]]["before_script"]
        )
    assert ci["component-fails"]["allow_failure"] == {"exit_codes": [1]}
    assert ci["publish"]["release"]["tag_name"] == "$CI_COMMIT_TAG"
    assert "CI_COMMIT_TAG" in ci["publish"]["rules"][0]["if"]


def test_component_script_runs(tmp_path: Path) -> None:
    """The job's script line, with the component's variables, in a shell."""
    (body,) = COMPONENT[1].values()
    variables = {
        k: v.replace("$[[ inputs.policy ]]", "fi-gate.yml")
        for k, v in body["variables"].items()
        if "inputs.policy" in v
    }
    (tmp_path / "fi-gate.yml").write_text("version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n")
    script = body["script"][0] + f" --from-file {SEED}"
    done = bash(script, tmp_path, variables)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fi-gate.env").read_text().startswith("FI_GATE_VERDICT=warn\n")
    for name in ("fi-gate-summary.md", "fi-gate-report.json", "fi-gate-junit.xml"):
        assert (tmp_path / name).exists()


# --- other CI ---------------------------------------------------------------------------------


def test_jenkins_and_argocd_examples_match_the_readme() -> None:
    jenkinsfile = (ROOT / "examples" / "Jenkinsfile").read_text()
    for line in EXAMPLES["jenkins"].strip().splitlines():
        assert line.strip() in jenkinsfile
    job = yaml.safe_load((ROOT / "examples" / "argocd-presync-job.yaml").read_text())
    assert job == yaml.safe_load(EXAMPLES["argocd"])
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == "check"
    assert job["spec"]["backoffLimit"] == 0
    # the args are the CLI's own
    from gate.cli import _parser

    _parser().parse_args(container["args"])
    sh = re.search(r"sh '(fi-gate [^']+)'", EXAMPLES["jenkins"])
    assert sh
    _parser().parse_args(sh.group(1).split()[1:])


def test_json_report_snippet(tmp_path: Path) -> None:
    (tmp_path / "fi-gate.yml").write_text("version: 1\nevals:\n  is_helpful: {min_pass_rate: 81}\n")
    script = EXAMPLES["json-report"].replace("--format json", f"--format json --from-file {SEED}")
    done = bash(script, tmp_path)
    assert done.stdout.strip() == "fail 1"


# --- the image ---------------------------------------------------------------------------------


def test_dockerfile_follows_the_rules() -> None:
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert froms and all(re.search(r"@sha256:[0-9a-f]{64}$", f) for f in froms)
    assert re.search(r'^ENTRYPOINT \["/[^"]+"\]$', text, re.M)
    assert not re.search(r"^(USER|WORKDIR)\b", text, re.M)
    for var in ("PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1"):
        assert var in text
    assert "--require-hashes" in text


PYPROJECT = ROOT / "pyproject.toml"


def test_lock_file_pins_everything_with_hashes_and_fits_pyproject() -> None:
    lock = (ROOT / "docker" / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+) \\$", lock, re.M | re.I))
    blocks = re.split(r"^(?=[a-z0-9_.-]+==)", lock, flags=re.M | re.I)
    for block in blocks:
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]
    from packaging.requirements import Requirement

    # pyproject.toml, not the installed metadata: an editable install keeps the metadata of the
    # day it was installed. (tomllib is 3.11+; the project supports 3.10.)
    block = re.search(r"^dependencies = \[\n(.*?)^\]", PYPROJECT.read_text(), re.M | re.S)
    assert block is not None
    runtime = re.findall(r'^\s+"([^"]+)",?$', block.group(1), re.M)
    assert {Requirement(r).name for r in runtime} >= {"certifi", "msgspec"}
    for dep in runtime:
        req = Requirement(dep)
        assert req.name.lower() in {k.lower() for k in pins}, req.name
        version = next(v for k, v in pins.items() if k.lower() == req.name.lower())
        assert req.specifier.contains(version), (req, version)


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.y*ml")), ids=lambda p: p.name)
def test_examples_parse(path: Path) -> None:
    assert yaml.safe_load(path.read_text())


# --- releases ----------------------------------------------------------------------------------


def test_every_published_reference_names_this_version() -> None:
    """The action tag, the component version and the image tag users copy from the README,
    examples/ and templates/ are the package's version (a release bumps them together)."""
    from gate import __version__
    from scripts.release_check import reference_problems

    assert reference_problems(ROOT, __version__) == []
    # ... and a stale one is found, with its place:
    stale = reference_problems(ROOT, "9.9.9")
    assert any(p.startswith("README.md:") and "the image reference names" in p for p in stale)
    assert any(p.startswith("templates/fi-gate.yml:") for p in stale)


def _release_tree(tmp_path: Path, changelog: str) -> Path:
    (tmp_path / "gate").mkdir()
    (tmp_path / "gate" / "__init__.py").write_text('__version__ = "0.3.0"\n')
    (tmp_path / "examples").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "README.md").write_text(
        "uses: future-agi/fi-gate@v0.3.0\n"
        "- component: $CI_SERVER_FQDN/future-agi/fi-gate/fi-gate@0.3.0\n"
        "image: ghcr.io/future-agi/fi-gate:0.3.0\n"
    )
    (tmp_path / "CHANGELOG.md").write_text(changelog)
    return tmp_path


RELEASED = """# Changelog

## [Unreleased]

## [0.3.0] - 2026-11-29

### Fixed
- Something users noticed.

## [0.2.0] - 2026-10-01

### Added
- Older.

[0.3.0]: https://github.com/future-agi/fi-gate/releases/tag/v0.3.0
"""


@pytest.mark.parametrize(
    ("tag", "changelog", "problem"),
    [
        ("v0.3.0", RELEASED, None),
        ("v0.3.1", RELEASED, "the tag v0.3.1 is not v0.3.0"),
        ("v0.3.0", RELEASED.replace(" - 2026-11-29", ""), "heading has no date"),
        ("v0.3.0", RELEASED.replace("[0.3.0] - ", "[0.2.9] - "), "no ## [0.3.0] section"),
    ],
    ids=["ready", "another tag", "no date", "no section"],
)
def test_release_check_prints_the_notes_or_says_what_is_missing(
    tmp_path: Path, tag: str, changelog: str, problem: str | None
) -> None:
    root = _release_tree(tmp_path, changelog)
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release_check.py"), tag, "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if problem is None:
        assert done.returncode == 0, done.stderr
        assert done.stdout == "### Fixed\n- Something users noticed.\n"  # only this version's
        return
    assert done.returncode == 1
    assert problem in done.stderr
    assert done.stdout == ""


def test_the_release_pins_the_action_and_the_component_to_the_pushed_image(
    tmp_path: Path,
) -> None:
    """scripts/pin_image.py, as the release workflow runs it: the released action runs the
    prebuilt image by digest (nothing built at job time); main keeps building from source."""
    from scripts.pin_image import pin

    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    (tmp_path / "templates").mkdir()
    shutil.copy(ROOT / "templates" / "fi-gate.yml", tmp_path / "templates" / "fi-gate.yml")
    image = "ghcr.io/future-agi/fi-gate:0.1.0@sha256:" + "ab" * 32
    pin(tmp_path, image)
    action = yaml.safe_load((tmp_path / "action.yml").read_text())
    assert action["runs"]["image"] == f"docker://{image}"
    assert {k: v for k, v in action["runs"].items() if k != "image"} == {
        k: v for k, v in ACTION["runs"].items() if k != "image"
    }
    spec, _ = yaml.safe_load_all((tmp_path / "templates" / "fi-gate.yml").read_text())
    assert spec["spec"]["inputs"]["image"]["default"] == image
    assert (
        check_jsonschema("vendor.github-actions", tmp_path / "action.yml", tmp_path).returncode == 0
    )
    with pytest.raises(SystemExit, match="sha256"):
        pin(tmp_path, "ghcr.io/future-agi/fi-gate:latest")
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert "scripts/pin_image.py" in release  # the workflow does it for every release


@pytest.mark.parametrize(
    ("image", "legal"),
    [
        ("ghcr.io/future-agi/fi-gate:0.2.0", True),
        ("registry.example.com:5000/my_org/fi__gate:v1.2_rc", True),
        ("localhost:5000/gate:1", True),
        ("fi-gate:latest", True),
        ("Ghcr.io/Upper/Case:1", False),
        ("ghcr.io/a_/b:1", False),
        ("ghcr.io/a/b:-tag", False),
        ("ghcr.io/a/b", False),
    ],
)
def test_pin_image_accepts_every_legal_reference(image: str, legal: bool) -> None:
    """Underscores, a registry's port, any legal tag: what the distribution spec allows."""
    from scripts.pin_image import PINNED

    assert bool(PINNED.fullmatch(image + "@sha256:" + "ab" * 32)) is legal
