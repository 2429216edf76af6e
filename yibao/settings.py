"""The one settings object, read from the environment (and CLI flags) at start-up.

Nothing here connects, creates folders or sets a tracking URI: callers decide
when. Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of every yibao process; env vars are the field names upper-cased."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    data_dir: Path = Field(
        default=Path("var"), description="Local state: broker data, MLflow store, DB."
    )
    policies_dir: Path | None = Field(default=None, description="Policy directory; None = bundled.")
    dip_dir: Path | None = Field(
        default=None, description="DIP policy directory (stream and review app); None = bundled."
    )
    rules_dir: Path | None = Field(
        default=None, description="Audit-rule catalogue (stream); None = bundled (docs/rules.md)."
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers.")
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; None = sqlite store in data_dir."
    )
    model_name: str = Field(default="yibao-fraud", description="Registered model name.")
    database_url: str | None = Field(
        default=None, description="Review app database; None = SQLite file in data_dir."
    )
    review_host: str = "127.0.0.1"
    review_port: int = 8000
    review_secret_key: str | None = Field(
        default=None, description="Session signing key; None = generated once into data_dir."
    )
    review_trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated, e.g. 127.0.0.1,10.0.0.0/8) of "
        "the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto the review app "
        "believes; empty (the default): none, the peer address is the client.",
    )
    review_login_failures_per_user: int = Field(
        default=5, ge=1, description="Failed logins for one user from one address before lock-out."
    )
    review_login_failures_per_address: int = Field(
        default=30, ge=1, description="Failed logins from one address (any user) before lock-out."
    )
    review_lockout_minutes: int = Field(
        default=15, ge=1, description="How long failed logins count towards a lock-out."
    )
    review_deadline_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days after submission by which a flagged claim should be decided; "
        "older open claims are highlighted as overdue in the queue.",
    )
    review_attachment_max_bytes: int = Field(
        default=10 << 20,
        ge=1024,
        le=100 << 20,
        description="Largest document a clerk may attach to a claim (PDF, PNG or JPEG), in "
        "bytes; files are stored under data_dir/attachments.",
    )
    stream_web_host: str = Field(
        default="127.0.0.1",
        description="Address the worker's health/metrics pages listen on (0.0.0.0: every "
        "interface, e.g. for a Prometheus in another container).",
    )
    stream_web_port: int = Field(default=6066, description="Worker health/metrics port.")
    follow_metrics_host: str = Field(
        default="127.0.0.1", description="Address of the review follower's /metrics endpoint."
    )
    follow_metrics_port: int = Field(
        default=0, ge=0, description="Port of the review follower's /metrics endpoint (0: none)."
    )
    stream_partitions: int = 4
    stream_processes: int = Field(
        default=1,
        ge=1,
        description="`yibao stream`: worker processes of the group on this machine (one per "
        "core; each owns some partitions), web ports STREAM_WEB_PORT and up.",
    )
    demo_broker_port: int = Field(
        default=9092,
        ge=1,
        le=65535,
        description="`yibao demo`: the first port tried for its embedded broker (the next "
        "free one is taken); its other services start from DEMO_MLFLOW_PORT, "
        "STREAM_WEB_PORT and REVIEW_PORT the same way.",
    )
    demo_mlflow_port: int = Field(
        default=5000,
        ge=1,
        le=65535,
        description="`yibao demo`: the first port tried for its MLflow UI.",
    )
    max_claim_bytes: int = Field(
        default=1 << 20,
        ge=1,
        le=3 << 20,  # dead letters keep the bytes and must fit the producer's 4 MiB request
        description="Longest claim line (`yibao settle`) or message (stream) read, in bytes; "
        "longer ones are rejected malformed.",
    )
    stream_stop_seconds: float = Field(
        default=20.0,
        gt=0,
        description="Longest a worker takes to stop (SIGTERM or failure) before it exits anyway.",
    )
    connect_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a command waits for the broker, MLflow or the database before "
        "it gives up with one line saying what it tried.",
    )
    model_poll_seconds: float = 30.0
    compile_models: bool = Field(
        default=True,
        description="The stream scores through its model compiled to machine code (lleaves; "
        "compiled once per model version and host, cached in data_dir/compiled-models); "
        "false: Booster.predict only. Scores are the same either way.",
    )
    feature_snapshot_seconds: float = Field(
        default=120.0,
        ge=0,
        description="Seconds between snapshots of the stream's fraud-feature memory (0 = none).",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=AliasChoices("YIBAO_LOG_LEVEL", "LOG_LEVEL"),
        description="Log level.",
    )

    def tracking_uri(self) -> str:
        """The MLflow tracking URI: the env var, else a sqlite file under data_dir."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    def compiled_models_dir(self) -> Path | None:
        """Where compiled models are cached; None when compiling is switched off."""
        return self.data_dir / "compiled-models" if self.compile_models else None

    def review_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'review.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once per process."""
    return Settings()
