"""Settings validation and identity: dev header, signed tokens."""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer
from pydantic import ValidationError

from ultudy.api.auth import (
    TOKEN_SALT,
    AuthError,
    create_token,
    identify,
    session_token,
    verify_token,
)
from ultudy.api.csrf import origin_of
from ultudy.config import Settings

SECRET = "k" * 32


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
    assert settings.concurrency_material_upload == 5


def test_dev_identity_comes_from_the_header() -> None:
    who = identify(Settings(), user_header="alice", authorization=None)
    assert who.user_id == "alice"
    with pytest.raises(AuthError, match="x-user-id"):
        identify(Settings(), user_header=None, authorization=None)


def test_tokens_are_signed_and_carry_admin() -> None:
    settings = Settings(auth="token", secret_key="k" * 32)
    admin = identify(
        settings,
        user_header=None,
        authorization=f"Bearer {create_token(settings, 'ops', admin=True)}",
    )
    assert (admin.user_id, admin.is_admin) == ("ops", True)
    token = create_token(settings, "alice")
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(AuthError, match="not valid"):
        identify(settings, user_header=None, authorization=f"Bearer {tampered}")
    with pytest.raises(AuthError, match="Bearer"):
        identify(settings, user_header="alice", authorization=None)


def test_expiry_is_fixed_when_the_token_is_made() -> None:
    """Raising the TTL later revives nothing: the token carries its own `exp`."""
    made_at = time.time() - 120
    token = create_token(
        Settings(auth="token", secret_key=SECRET, token_ttl_s=60), "alice", now=made_at
    )
    raised = Settings(auth="token", secret_key=SECRET, token_ttl_s=10**8)
    with pytest.raises(AuthError, match="expired"):
        identify(raised, user_header=None, authorization=f"Bearer {token}")
    valid = identify(raised, user_header=None, authorization=f"Bearer {token}", now=made_at + 59)
    assert valid.token is not None
    assert valid.token.exp == int(made_at + 60)


def test_tokens_without_an_expiry_are_refused_with_a_way_out() -> None:
    settings = Settings(auth="token", secret_key=SECRET)
    old = URLSafeTimedSerializer(SECRET, salt=TOKEN_SALT).dumps({"sub": "alice", "admin": False})
    with pytest.raises(AuthError, match=r"no expiry.*create a new one"):
        identify(settings, user_header=None, authorization=f"Bearer {old}")


def test_a_session_token_ends_with_the_token_it_came_from() -> None:
    settings = Settings(auth="token", secret_key=SECRET)
    parent = verify_token(settings, create_token(settings, "ops", admin=True))
    child = verify_token(settings, session_token(settings, parent))
    assert (child.sub, child.admin, child.parent) == ("ops", True, parent.jti)
    assert child.jti != parent.jti
    assert child.exp <= parent.exp
    assert child.revocation_ids == (child.jti, parent.jti)


@pytest.mark.parametrize("secret", ["x", "s" * 31])
def test_a_short_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match=r"ULTUDY_SECRET_KEY is too short.*at least 32"):
        Settings(auth="token", secret_key=secret)
    with pytest.raises(ValidationError, match="too short"):
        Settings(secret_key=secret)  # also in dev mode, where `ultudy token create` uses it


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://App.Example:443/path?q=1", "https://app.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:80/", "http://[::1]"),
        ("null", None),
        ("ftp://example.org", None),
        ("http://host:99999", None),
    ],
)
def test_origins_are_compared_in_one_form(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
