"""The serving venv: what pruning keeps and drops, and the ``serve`` extra it installs."""

from __future__ import annotations

from pathlib import Path

from ai_roadmap.serving.venv import prune_venv, serve_requirements


def test_prune_venv_keeps_code_and_drops_tooling_tests_and_bytecode(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    keep = [site / "numpy" / "core.py", site / "numpy" / "testing" / "__init__.py"]
    keep.append(site / "swagger_ui_bundle" / "vendor" / "swagger-ui-bundle.js")
    drop = [
        site / "pip" / "__init__.py",
        site / "pip-26.0.dist-info" / "METADATA",
        site / "setuptools" / "__init__.py",
        site / "distutils-precedence.pth",
        site / "numpy" / "tests" / "test_core.py",
        site / "numpy" / "__pycache__" / "core.cpython-311.pyc",
        site / "swagger_ui_bundle" / "vendor" / "swagger-ui-bundle.js.map",
        tmp_path / "bin" / "pip3",
    ]
    for path in keep + drop:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    prune_venv(tmp_path)
    assert all(p.exists() for p in keep)
    assert not any(p.exists() for p in drop)
    assert not (site / "numpy" / "tests").exists() and not (site / "pip").exists()


def test_serve_requirements_hold_no_training_stack() -> None:
    requirements, source = serve_requirements()
    names = {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in requirements}
    assert {"fastapi", "gunicorn", "uvicorn-worker", "numpy"} <= names
    training = {"torch", "mlflow", "optuna", "hydra-core", "matplotlib", "pyarrow"}
    assert not names & (training | {"pandas", "scikit-learn", "scipy", "lightgbm", "joblib"})
    assert source
