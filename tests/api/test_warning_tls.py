"""Warning channels over TLS against real servers and a throwaway CA (SAFEMAP_TLS_CA_FILE).

The CA and the server certificates (for ``localhost`` and 127.0.0.1) are made with the
``openssl`` command line into a temporary folder; the SMTP servers are aiosmtpd (STARTTLS
and implicit TLS) and the webhook receiver is :class:`tests.api.test_warnings.Hook` with
its listening socket wrapped in TLS. No database is needed. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from safemap.api.services.warning_channels import SIGNATURE_HEADER, ChannelConfig, Message, send_email, send_webhook
from tests.api.test_warnings import SECRET, Hook, _Inbox
from tests.support.background_server import free_port

PASSWORD = "hunter2-s3cret"
MESSAGE = Message(
    delivery_id=11,
    warning_id=7,
    incident_id=3,
    idempotency_key="warning-7",
    title="【预警】测试化工厂氯气泄漏",
    body="请立即向西北方向撤离。",
    recipient={"name": "李校长", "email": "principal@school.example"},
)


# ---------------------------------------------------------------------------- certificates
@dataclass(frozen=True)
class Pki:
    """A throwaway CA and server certificates it issued (PEM files)."""

    ca: Path
    cert: Path  # for localhost and 127.0.0.1
    key: Path
    other_cert: Path  # for mail.other.example only: a host name mismatch on 127.0.0.1
    other_key: Path

    def server_context(self, *, other: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if other:
            context.load_cert_chain(self.other_cert, self.other_key)
        else:
            context.load_cert_chain(self.cert, self.key)
        return context


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True, timeout=60)


def _issue(folder: Path, name: str, serial: str, subject: str, alt_names: str) -> tuple[Path, Path]:
    key, csr, cert, ext = (folder / f"{name}.{s}" for s in ("key", "csr", "pem", "ext"))
    ext.write_text(
        f"subjectAltName={alt_names}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", subject, cwd=folder)  # fmt: skip
    _openssl("x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", serial,
             "-days", "2", "-sha256", "-extfile", ext, "-out", cert, cwd=folder)  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make the test CA")
    folder = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-sha256", "-subj", "/CN=SafeMap Test Intranet CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=folder)  # fmt: skip
    cert, key = _issue(folder, "server", "1001", "/CN=localhost", "DNS:localhost,IP:127.0.0.1")
    other_cert, other_key = _issue(folder, "other", "1002", "/CN=mail.other.example", "DNS:mail.other.example")
    return Pki(folder / "ca.pem", cert, key, other_cert, other_key)


# ---------------------------------------------------------------------------- servers
class _TlsInbox(_Inbox):
    """The shared inbox, also noting per message how the session was protected and who logged in."""

    def __init__(self) -> None:
        super().__init__()
        self.tls: list[dict[str, Any]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        ssl_object = server.transport.get_extra_info("ssl_object")
        with self.lock:
            self.tls.append(
                {"starttls": session.ssl is not None, "version": ssl_object.version() if ssl_object else None}
            )
        return await super().handle_DATA(server, session, envelope)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        with self.lock:
            self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)


def _smtp_server(inbox: _TlsInbox, **tls: Any) -> Controller:
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=inbox.authenticate, auth_require_tls=True, **tls
    )
    controller.start()
    return controller


@pytest.fixture
def starttls_server(pki: Pki) -> Iterator[tuple[int, _TlsInbox]]:
    inbox = _TlsInbox()
    controller = _smtp_server(inbox, tls_context=pki.server_context(), require_starttls=True)
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _https(hook: Hook, context: ssl.SSLContext) -> Hook:
    """``hook`` answering over TLS on https://localhost:PORT (the host name of the certificate)."""
    hook.server.socket = context.wrap_socket(hook.server.socket, server_side=True)
    hook.url = f"https://localhost:{hook.server.server_address[1]}/warn"
    return hook


# ---------------------------------------------------------------------------- tests
def test_starttls_delivers_with_the_ca_file(pki: Pki, starttls_server: tuple[int, _TlsInbox]) -> None:
    port, inbox = starttls_server
    config = ChannelConfig(smtp_url=f"smtp://warn:{PASSWORD}@127.0.0.1:{port}", ca_file=str(pki.ca), timeout_s=5)
    outcome = send_email(config, MESSAGE)
    assert outcome.ok, outcome.detail
    assert [m["to"] for m in inbox.messages] == [["principal@school.example"]]
    assert inbox.messages[0]["subject"] == MESSAGE.title
    assert inbox.tls[0]["starttls"] and inbox.tls[0]["version"] in ("TLSv1.2", "TLSv1.3")
    assert inbox.logins == [(b"warn", PASSWORD.encode())]  # only after STARTTLS (auth_require_tls)


def test_implicit_tls_delivers_with_the_ca_file(pki: Pki) -> None:
    inbox = _TlsInbox()
    controller = _smtp_server(inbox, ssl_context=pki.server_context())
    try:
        config = ChannelConfig(smtp_url=f"smtps://127.0.0.1:{controller.port}", ca_file=str(pki.ca), timeout_s=5)
        outcome = send_email(config, MESSAGE)
    finally:
        controller.stop()
    assert outcome.ok, outcome.detail
    assert [m["to"] for m in inbox.messages] == [["principal@school.example"]]
    assert inbox.tls[0]["version"] in ("TLSv1.2", "TLSv1.3") and not inbox.tls[0]["starttls"]


def test_without_the_ca_file_the_intranet_server_is_not_trusted(
    pki: Pki, starttls_server: tuple[int, _TlsInbox]
) -> None:
    port, inbox = starttls_server
    config = ChannelConfig(smtp_url=f"smtp://warn:{PASSWORD}@127.0.0.1:{port}", timeout_s=5)
    outcome = send_email(config, MESSAGE)
    assert not outcome.ok and outcome.retry
    assert "服务器证书未通过验证" in outcome.detail and "SAFEMAP_TLS_CA_FILE" in outcome.detail
    assert PASSWORD not in outcome.detail and "hunter2" not in outcome.detail and "warn:" not in outcome.detail
    assert inbox.messages == [] and inbox.logins == []  # the password never left


def test_host_name_is_still_verified_with_the_ca_file(pki: Pki) -> None:
    inbox = _TlsInbox()
    controller = _smtp_server(inbox, ssl_context=pki.server_context(other=True))
    try:
        url = f"smtps://warn:{PASSWORD}@127.0.0.1:{controller.port}"
        outcome = send_email(ChannelConfig(smtp_url=url, ca_file=str(pki.ca), timeout_s=5), MESSAGE)
    finally:
        controller.stop()
    assert not outcome.ok and outcome.retry and "服务器证书与所连主机名不符" in outcome.detail
    assert "hunter2" not in outcome.detail and inbox.messages == [] and inbox.logins == []


def test_https_webhook_delivers_signed_with_the_ca_file(pki: Pki) -> None:
    with _https(Hook(), pki.server_context()) as hook:
        config = ChannelConfig(webhook_url=hook.url, webhook_secret=SECRET, ca_file=str(pki.ca), timeout_s=5)
        outcome = send_webhook(config, MESSAGE)
        assert outcome.ok, outcome.detail
        assert len(hook.calls) == 1
        call = hook.calls[0]
        expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
        assert call["headers"][SIGNATURE_HEADER.lower()] == expected
        assert call["headers"]["idempotency-key"] == "warning-7:11"

        untrusted = send_webhook(ChannelConfig(webhook_url=hook.url, webhook_secret=SECRET, timeout_s=5), MESSAGE)
        assert not untrusted.ok and untrusted.retry and "服务器证书未通过验证" in untrusted.detail
        assert len(hook.calls) == 1


def test_tls_ca_file_setting(pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safemap.api.settings import SettingsInvalid, channel_config, load_settings

    monkeypatch.setenv("SAFEMAP_TLS_CA_FILE", str(pki.ca))
    assert channel_config(load_settings()).ca_file == str(pki.ca)
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("不是证书\n")
    for bad in (tmp_path / "missing.pem", not_pem, tmp_path):
        monkeypatch.setenv("SAFEMAP_TLS_CA_FILE", str(bad))
        with pytest.raises(SettingsInvalid) as exc:
            load_settings()
        assert str(exc.value).startswith("设置 SAFEMAP_TLS_CA_FILE：") and "\n" not in str(exc.value)
    monkeypatch.setenv("SAFEMAP_TLS_CA_FILE", "")
    assert channel_config(load_settings()).ca_file is None


def test_a_password_smtplib_cannot_send_is_a_recorded_failure(pki: Pki, starttls_server: tuple[int, _TlsInbox]) -> None:
    port, inbox = starttls_server
    config = ChannelConfig(smtp_url=f"smtp://warn:pw-不外传@127.0.0.1:{port}", ca_file=str(pki.ca), timeout_s=5)
    outcome = send_email(config, MESSAGE)
    assert not outcome.ok and not outcome.retry
    assert "非 ASCII" in outcome.detail and "不外传" not in outcome.detail
    assert inbox.messages == []
