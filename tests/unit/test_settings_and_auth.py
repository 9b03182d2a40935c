"""Settings validation and identity: dev header, signed tokens."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ultudy.api.auth import AuthError, create_token, identify
from ultudy.config import Settings


def test_token_mode_needs_a_secret() -> None:
    with pytest.raises(ValidationError, match="ULTUDY_SECRET_KEY"):
        Settings(auth="token")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.org"])
def test_dev_mode_refuses_to_bind_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Settings(host=host).check_bind()


def test_token_mode_may_bind_anywhere() -> None:
    Settings(host="0.0.0.0", auth="token", secret_key="s" * 32).check_bind()


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: object) -> None:
    settings = Settings(data_dir="some/dir")
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("some/dir/ultudy.db")
    assert settings.concurrency_for("material-upload") == 5


def test_dev_identity_comes_from_the_header() -> None:
    who = identify(Settings(), user_header="alice", authorization=None)
    assert who.user_id == "alice"
    with pytest.raises(AuthError, match="x-user-id"):
        identify(Settings(), user_header=None, authorization=None)


def test_tokens_are_signed_and_carry_admin() -> None:
    settings = Settings(auth="token", secret_key="k" * 32)
    admin = identify(settings, user_header=None,
                     authorization=f"Bearer {create_token(settings, 'ops', admin=True)}")  # fmt: skip
    assert (admin.user_id, admin.is_admin) == ("ops", True)
    token = create_token(settings, "alice")
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(AuthError, match="not valid"):
        identify(settings, user_header=None, authorization=f"Bearer {tampered}")
    with pytest.raises(AuthError, match="Bearer"):
        identify(settings, user_header="alice", authorization=None)


def test_expired_token_is_refused() -> None:
    settings = Settings(auth="token", secret_key="k" * 32, token_ttl_s=1)
    token = create_token(settings, "alice")
    later = Settings(auth="token", secret_key="k" * 32, token_ttl_s=1)
    import time

    time.sleep(2.1)
    with pytest.raises(AuthError, match="expired"):
        identify(later, user_header=None, authorization=f"Bearer {token}")
