"""Runtime settings: paths and the tracking URI, read from ``ROADMAP_*`` variables.

Nothing here touches the disk; directories are created by the code that writes
into them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the roadmap keeps its data, runs and models."""

    model_config = SettingsConfigDict(env_prefix="ROADMAP_", extra="ignore")

    home: Path = Field(default=Path("~/.ai-roadmap"), description="Runs, models, task ticks.")
    data_home: Path | None = Field(
        default=None, description="Pulled datasets; default: <home>/data."
    )
    data_dir: Path | None = Field(
        default=None, description="User-supplied canonical files (Kaggle CSVs, CIFAR-10)."
    )
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI; default: MLFLOW_TRACKING_URI or a SQLite file in home.",
    )
    experiment: str = Field(default="ai-roadmap", description="MLflow experiment name.")
    # ── serving (`roadmap serve`, ai_roadmap.serving) ──
    serve_models: str = Field(default="titanic,house,churn", description="Models to serve.")
    serve_model_dir: Path | None = Field(
        default=None, description="Exported models (<dir>/<name>/); default: <home>/serving."
    )
    serve_max_batch: int = Field(default=256, ge=1, description="Largest batch accepted.")
    serve_host: str = Field(default="127.0.0.1")
    serve_port: int = Field(default=8000, ge=1, le=65535)
    serve_workers: int = Field(default=2, ge=1)
    monitor_window: int = Field(default=500, ge=1, description="Rows per drift (PSI) window.")
    canary_share: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of traffic on the canary (gauge)."
    )

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def data_root(self) -> Path:
        """Folder holding pulled and converted datasets."""
        if self.data_home is not None:
            return self.data_home.expanduser().resolve()
        return self.home_dir / "data"

    @property
    def downloads_dir(self) -> Path:
        """Archives fetched by the registry clients, kept so a re-pull is offline."""
        return self.data_root / "_archives"

    @property
    def artifact_root(self) -> Path:
        return self.home_dir / "mlartifacts"

    @property
    def model_dir(self) -> Path:
        """Where the service reads its models (one folder per model name)."""
        if self.serve_model_dir is not None:
            return self.serve_model_dir.expanduser().resolve()
        return self.home_dir / "serving"

    @property
    def served(self) -> list[str]:
        return [name.strip() for name in self.serve_models.split(",") if name.strip()]

    @property
    def mlflow_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env:
            return env
        return f"sqlite:///{self.home_dir / 'mlflow.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache after changing the environment)."""
    return Settings()
