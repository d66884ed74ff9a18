import pytest

from botcraft.config import ConfigError, Settings


def test_production_refuses_missing_or_example_secrets(tmp_path):
    settings = Settings(_env_file=None, ENV="production", DATA_DIR=tmp_path,
                        JWT_SECRET_KEY="your-secret-key-change-in-production", ENCRYPTION_KEY="")
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY and ENCRYPTION_KEY"):
        settings.finalize()


def test_development_keys_are_made_once_and_kept(tmp_path):
    first = Settings(_env_file=None, ENV="development", DATA_DIR=tmp_path, JWT_SECRET_KEY="", ENCRYPTION_KEY="").finalize()
    second = Settings(_env_file=None, ENV="development", DATA_DIR=tmp_path, JWT_SECRET_KEY="", ENCRYPTION_KEY="").finalize()
    assert first.jwt_secret_key == second.jwt_secret_key and len(first.jwt_secret_key) > 40
    assert first.encryption_key == second.encryption_key
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
