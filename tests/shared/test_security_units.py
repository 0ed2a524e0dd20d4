"""Policy, tokens, data keys and the rate limit, without I/O."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.runtime.settings import CommonSettings
from shared.security.crypto import DataCipher, DecryptionError
from shared.web.auth import Principal, Role, TokenVerifier, Unauthenticated, ensure_dev_keys, mint_token
from shared.web.policy import ROLE_ACTIONS, Action, CaseAccess, NotificationAccess, decide
from shared.web.ratelimit import TokenBucket

CASE = CaseAccess(
    filed_by_subs=["filer"], routes=["police", "om", "burgemeester"], body_code="GM0344", municipality="GM0344"
)


def who(role: Role, **claims: str) -> Principal:
    return Principal(sub=claims.pop("sub", "someone"), role=role, **claims)


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (who(Role.REPORTER, sub="filer"), True),
        (who(Role.REPORTER), False),
        (who(Role.OTWB), False),  # not routed to otwb, not filed by this desk
        (who(Role.POLICE), True),
        (who(Role.OM), True),
        (who(Role.JENV), False),
        (who(Role.BZK), False),
        (who(Role.BURGEMEESTER, municipality="GM0344"), True),
        (who(Role.BURGEMEESTER, municipality="GM0363"), False),
        (who(Role.BURGEMEESTER), False),
        (who(Role.ADMIN), False),
        (who(Role.ADMIN, break_glass_reason="acute threat, desk unreachable"), True),
        (who(Role.BZK, break_glass_reason="curious"), False),
    ],
)
def test_a_case_is_read_only_on_need_to_know(principal: Principal, allowed: bool) -> None:
    assert bool(decide(principal, Action.READ_CASE, CASE)) is allowed


def test_a_case_no_one_was_routed_to_is_read_by_its_filer_only() -> None:
    untriaged = CaseAccess(filed_by_subs=["filer"], body_code="GM0344", municipality="GM0344")
    assert decide(who(Role.REPORTER, sub="filer"), Action.READ_CASE, untriaged)
    for role in (Role.POLICE, Role.OM, Role.JENV, Role.OTWB, Role.BURGEMEESTER):
        assert not decide(who(role, municipality="GM0344"), Action.READ_CASE, untriaged)


def test_break_glass_is_flagged_for_the_audit() -> None:
    decision = decide(who(Role.ADMIN, break_glass_reason="x"), Action.READ_CASE, CASE)
    assert decision.break_glass


def test_every_action_denies_without_a_rule_and_without_a_resource() -> None:
    for action in Action:
        assert action in ROLE_ACTIONS
    assert not decide(who(Role.POLICE), Action.READ_CASE, None)
    assert not decide(who(Role.POLICE), Action.ACK_NOTIFICATION, None)


def test_notifications_are_for_their_recipient_and_the_aangifte_needs_break_glass_for_admin() -> None:
    police = NotificationAccess("police")
    assert decide(who(Role.POLICE), Action.ACK_NOTIFICATION, police)
    assert not decide(who(Role.OM), Action.ACK_NOTIFICATION, police)
    assert decide(who(Role.ADMIN), Action.READ_NOTIFICATION, police)
    assert not decide(who(Role.ADMIN), Action.READ_AANGIFTE, police)
    assert decide(who(Role.ADMIN, break_glass_reason="x"), Action.READ_AANGIFTE, police)
    assert not decide(who(Role.ADMIN), Action.ACK_NOTIFICATION, police)
    assert decide(who(Role.ADMIN, break_glass_reason="liaison unreachable"), Action.ACK_NOTIFICATION, police)


def test_a_notification_is_read_whole_only_by_its_recipient_and_by_an_admin_with_a_reason() -> None:
    police = NotificationAccess("police")
    assert decide(who(Role.POLICE), Action.READ_NOTIFICATION_DETAILS, police)
    assert not decide(who(Role.OM), Action.READ_NOTIFICATION_DETAILS, police)
    assert not decide(who(Role.BZK), Action.READ_NOTIFICATION_DETAILS, police)
    assert not decide(who(Role.REPORTER), Action.READ_NOTIFICATION_DETAILS, police)
    assert not decide(who(Role.ADMIN), Action.READ_NOTIFICATION_DETAILS, police)
    assert decide(who(Role.ADMIN, break_glass_reason="liaison asks"), Action.READ_NOTIFICATION_DETAILS, police)
    gm = NotificationAccess("burgemeester", municipality="GM0344")
    assert decide(who(Role.BURGEMEESTER, municipality="GM0344"), Action.READ_NOTIFICATION_DETAILS, gm)
    assert not decide(who(Role.BURGEMEESTER, municipality="GM0599"), Action.READ_NOTIFICATION_DETAILS, gm)


def test_a_filer_erases_its_own_reports_and_only_an_admin_the_whole_case_with_a_reason() -> None:
    assert decide(who(Role.REPORTER, sub="filer"), Action.ERASE_CASE, CASE).own_reports_only
    assert decide(who(Role.OTWB, sub="filer"), Action.ERASE_CASE, CASE).own_reports_only
    assert not decide(who(Role.ADMIN), Action.ERASE_CASE, CASE)
    whole = decide(who(Role.ADMIN, break_glass_reason="request by letter, ref 2026-118"), Action.ERASE_CASE, CASE)
    assert whole
    assert not whole.own_reports_only
    assert not decide(who(Role.REPORTER), Action.ERASE_CASE, CASE)
    assert not decide(who(Role.POLICE), Action.ERASE_CASE, CASE)


def test_dev_tokens_verify_and_bad_ones_do_not(tmp_path: Path) -> None:
    settings = CommonSettings(dev_jwt_dir=str(tmp_path))
    verifier = TokenVerifier.from_settings(settings)
    good = mint_token(role="burgemeester", sub="u1", municipality="GM0344", directory=tmp_path)
    assert verifier.verify(good) == Principal(sub="u1", role=Role.BURGEMEESTER, municipality="GM0344")
    within_skew = mint_token(
        role="police", ttl=timedelta(seconds=1), now=datetime.now(UTC) - timedelta(seconds=20), directory=tmp_path
    )
    assert verifier.verify(within_skew).role is Role.POLICE
    expired = mint_token(
        role="police", ttl=timedelta(seconds=1), now=datetime.now(UTC) - timedelta(minutes=2), directory=tmp_path
    )
    wrong_audience = mint_token(role="police", audience="elsewhere", directory=tmp_path)
    wrong_issuer = mint_token(role="police", issuer="elsewhere", directory=tmp_path)
    other_key = mint_token(role="admin", directory=tmp_path / "other")
    unsigned = jwt.encode({"sub": "x", "role": "admin", "iss": "weerbaar-dev", "aud": "weerbaar"}, None, "none")  # type: ignore[arg-type]
    for bad in (expired, wrong_audience, wrong_issuer, other_key, unsigned, "not-a-token"):
        with pytest.raises(Unauthenticated):
            verifier.verify(bad)


def test_a_token_without_expiry_or_with_an_unknown_role_is_refused(tmp_path: Path) -> None:
    private, _ = ensure_dev_keys(tmp_path)
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    verifier = TokenVerifier.from_settings(CommonSettings(dev_jwt_dir=str(tmp_path)))
    base = {"iss": "weerbaar-dev", "aud": "weerbaar", "sub": "x"}
    no_exp = jwt.encode({**base, "role": "admin"}, key, algorithm="EdDSA")
    unknown = jwt.encode(
        {**base, "role": "root", "exp": datetime.now(UTC) + timedelta(minutes=5)}, key, algorithm="EdDSA"
    )
    for bad in (no_exp, unknown):
        with pytest.raises(Unauthenticated):
            verifier.verify(bad)


def test_rs256_keys_from_a_file_verify(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "issuer.pem"
    pem.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    settings = CommonSettings(jwt_public_key_file=str(pem), jwt_issuer="https://idp.example", jwt_audience="weerbaar")
    claims = {"iss": "https://idp.example", "aud": "weerbaar", "sub": "agent-7", "role": "police", "org": "Politie"}
    claims["exp"] = datetime.now(UTC) + timedelta(minutes=5)  # type: ignore[assignment]
    verified = TokenVerifier.from_settings(settings).verify(jwt.encode(claims, key, algorithm="RS256"))
    assert verified == Principal(sub="agent-7", role=Role.POLICE, org="Politie")


def test_outside_dev_mode_there_is_no_default_key() -> None:
    with pytest.raises(ValueError, match="JWT_PUBLIC_KEY_FILE"):
        CommonSettings(dev_mode=False, pseudonym_key="k")
    with pytest.raises(ValueError, match="DATA_KEYS"):
        CommonSettings(dev_mode=False, pseudonym_key="k", jwks_url="https://idp.example/jwks")


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_rotated_keys_still_open_old_data_and_seal_with_the_new_one() -> None:
    old_keys = {"2025": _key()}
    before = DataCipher.from_settings(CommonSettings(data_keys=json.dumps(old_keys), data_key_id="2025"))
    sealed_before = before.seal_json({"name": "A. Voorbeeld"}, context="case-1")
    assert "A. Voorbeeld" not in sealed_before
    assert DataCipher.key_id_of(sealed_before) == "2025"
    rotated_keys = {**old_keys, "2026": _key()}
    after = DataCipher.from_settings(CommonSettings(data_keys=json.dumps(rotated_keys), data_key_id="2026"))
    assert after.open_json(sealed_before, context="case-1") == {"name": "A. Voorbeeld"}
    sealed_after = after.seal_json({"name": "B"}, context="case-1")
    assert DataCipher.key_id_of(sealed_after) == "2026"
    with pytest.raises(DecryptionError, match="unknown data key"):
        before.open(sealed_after, context="case-1")
    with pytest.raises(DecryptionError):
        after.open(sealed_before, context="case-2")  # bound to its case
    tampered = sealed_before[:-4] + ("AAAA" if not sealed_before.endswith("AAAA") else "BBBB")
    with pytest.raises(DecryptionError):
        after.open(tampered, context="case-1")


def test_the_rate_limit_refills_over_time() -> None:
    now = [0.0]
    bucket = TokenBucket(2, clock=lambda: now[0])
    assert bucket.take("a") == 0
    assert bucket.take("a") == 0
    assert bucket.take("a") == pytest.approx(30.0)
    assert bucket.take("b") == 0, "per caller"
    now[0] = 30.0
    assert bucket.take("a") == 0


async def test_a_slow_jwks_issuer_does_not_block_the_event_loop() -> None:
    """The JWKS fetch runs in a worker thread: while the issuer takes a second, the loop keeps serving others."""
    import asyncio
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class SlowIssuer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(1.0)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowIssuer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        verifier = TokenVerifier(
            issuer="https://idp", audience="weerbaar", jwks_url=f"http://127.0.0.1:{server.server_port}/jwks"
        )
        claims = {"iss": "https://idp", "aud": "weerbaar", "sub": "a", "role": "police", "exp": time.time() + 60}
        signed = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        principal = await verifier.verify_async(signed)
        ticker.cancel()
    finally:
        server.shutdown()
    assert principal.role is Role.POLICE
    assert ticks >= 50, f"the loop ran only {ticks} times in the second the issuer took"
