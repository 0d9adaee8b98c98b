"""The channels a warning leaves through: e-mail over SMTP and a signed HTTP webhook.

(The third channel, the printable call list, needs no network: it is rendered from the
deliveries by :mod:`safemap.api.reports.warnings`.)

* **E-mail** — ``SAFEMAP_SMTP_URL`` ``smtp://user:pass@host:port`` (STARTTLS when the
  server offers it) or ``smtps://…`` (TLS from the start); ``SAFEMAP_SMTP_FROM`` is the
  sender. The Message-ID is fixed per delivery (``<safemap-warning-W-delivery-D@host>``),
  so a mail system that sees a delivery twice can tell.
* **Webhook** — the hand-off to an SMS gateway, loudspeaker or broadcast system:
  ``POST SAFEMAP_WARNING_WEBHOOK_URL`` with a JSON body, signed with HMAC-SHA256 over the
  exact body bytes using ``SAFEMAP_WARNING_WEBHOOK_SECRET``, sent as
  ``X-SafeMap-Signature: sha256=<hex>``, with ``Idempotency-Key`` (warning key + delivery
  id) so the gateway can drop a repeat. A 2xx answer is delivered; 408, 429, 5xx, a
  timeout or a refused connection are retried; other 4xx are final.

TLS (``smtps://``, STARTTLS, ``https://``) always verifies the server's certificate and
host name: against the system's CAs, or only against ``SAFEMAP_TLS_CA_FILE`` (a PEM bundle
of the intranet's CA) when that is set. A certificate that does not verify is a failed,
retried attempt (the server may be fixed), recorded in Chinese.

A channel not configured is reported 未配置 (never a failure). Error texts recorded in
the store never carry the URL or its password.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from safemap.api.services.problems import invalid

SIGNATURE_HEADER = "X-SafeMap-Signature"
#: HTTP answers of a webhook worth retrying (besides every 5xx).
RETRY_STATUS = frozenset({408, 425, 429})
#: Recorded when the CA bundle checked at start-up can no longer be read (retried: it may come back).
_CA_UNREADABLE = "无法读取 CA 证书文件（SAFEMAP_TLS_CA_FILE）"
#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH, _EMAIL_MISMATCH and _IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = frozenset({62, 63, 64})


@dataclass(frozen=True)
class ChannelConfig:
    """What the delivery channels need (built from the settings by the app and the CLI)."""

    smtp_url: str | None = None
    smtp_from: str = "safemap@localhost"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    timeout_s: float = 10.0
    #: PEM bundle of the CA(s) TLS servers are verified against instead of the system's (SAFEMAP_TLS_CA_FILE).
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """A client TLS context verifying certificate and host name (against ``ca_file`` when set)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def status(self) -> dict[str, dict[str, Any]]:
        """Per channel: configured or not, and why not (Chinese)."""
        webhook_reason = None
        if not self.webhook_url:
            webhook_reason = "未设置 SAFEMAP_WARNING_WEBHOOK_URL"
        elif not self.webhook_secret:
            webhook_reason = "未设置签名密钥 SAFEMAP_WARNING_WEBHOOK_SECRET（不发送未签名的预警）"
        return {
            "email": {
                "configured": bool(self.smtp_url),
                "reason": None if self.smtp_url else "未设置 SAFEMAP_SMTP_URL",
            },
            "webhook": {"configured": webhook_reason is None, "reason": webhook_reason},
            "call_list": {"configured": True, "reason": None},
        }

    def configured(self, channel: str) -> bool:
        """Whether ``channel`` can send on this server."""
        return bool(self.status()[channel]["configured"])


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: delivered, or an error and whether trying again may help."""

    ok: bool
    detail: str
    retry: bool = True


@dataclass(frozen=True)
class Message:
    """One delivery to send."""

    delivery_id: int
    warning_id: int
    incident_id: int
    idempotency_key: str
    title: str
    body: str
    recipient: dict[str, Any]


def check_smtp_url(url: str) -> str:
    """``url`` if it is ``smtp://`` or ``smtps://`` with a host; else an error that does not repeat it."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("应为 smtp://用户:密码@主机:端口 或 smtps://用户:密码@主机:端口")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("端口应为 1–65535 的整数") from None
    return url


def check_webhook_url(url: str) -> str:
    """``url`` if it is ``http(s)://host…``; else an error that does not repeat it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("应为 http:// 或 https:// 开头的地址")
    return url


def check_ca_file(path: str) -> str:
    """``path`` if it is a readable PEM bundle holding at least one CA certificate; else an error naming it."""
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:  # before OSError: SSLError is one
        raise ValueError(f"{path} 不是 PEM 格式的 CA 证书（包）") from None
    except FileNotFoundError:
        raise ValueError(f"找不到 CA 证书文件 {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} 是目录，应为 CA 证书文件（PEM）") from None
    except PermissionError:
        raise ValueError(f"无权读取 CA 证书文件 {path}") from None
    except OSError as exc:
        raise ValueError(f"无法读取 CA 证书文件 {path}（{exc.strerror or type(exc).__name__}）") from None
    return path


def send_email(config: ChannelConfig, message: Message) -> Outcome:
    """Send ``message`` to the recipient's e-mail over SMTP (one connection per message)."""
    if not config.smtp_url:
        return Outcome(False, "未配置", retry=False)
    to = message.recipient.get("email")
    if not to:
        return Outcome(False, "无电子邮箱", retry=False)
    parts = urlsplit(config.smtp_url)
    host, port = parts.hostname or "localhost", parts.port
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = config.smtp_from
    mail["To"] = to
    mail["Date"] = formatdate(localtime=False)
    domain = config.smtp_from.rpartition("@")[2] or "safemap"
    mail["Message-ID"] = f"<safemap-warning-{message.warning_id}-delivery-{message.delivery_id}@{domain}>"
    mail["X-SafeMap-Warning"] = str(message.warning_id)
    mail["X-SafeMap-Delivery"] = str(message.delivery_id)
    mail.set_content(message.body)
    try:
        context = config.tls_context()
    except OSError:
        return Outcome(False, _CA_UNREADABLE)
    try:
        if parts.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=config.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(host, port or 25, timeout=config.timeout_s)
        with smtp:
            smtp.ehlo()
            if parts.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            refused = smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [c for c, _ in exc.recipients.values()]
        return Outcome(
            False, f"邮件服务器拒收收件人（{', '.join(map(str, codes))}）", retry=any(c < 500 for c in codes)
        )
    except smtplib.SMTPAuthenticationError as exc:
        return Outcome(False, f"邮件服务器认证失败（{exc.smtp_code}）", retry=True)
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, f"邮件服务器错误 {exc.smtp_code}", retry=exc.smtp_code < 500)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, f"无法连接邮件服务器：{_reason(exc)}")
    except UnicodeError:
        # smtplib encodes AUTH credentials as ASCII; a password it cannot send is a setting to fix.
        return Outcome(False, "邮件服务器用户名或密码含非 ASCII 字符，无法登录；请修改 SAFEMAP_SMTP_URL", retry=False)
    if refused:
        return Outcome(False, "邮件服务器拒收收件人", retry=False)
    return Outcome(True, mail["Message-ID"])


def webhook_body(message: Message) -> bytes:
    """The JSON body of a webhook delivery (UTF-8, keys sorted: what the signature covers)."""
    payload = {
        "delivery_id": message.delivery_id,
        "warning_id": message.warning_id,
        "incident_id": message.incident_id,
        "idempotency_key": f"{message.idempotency_key}:{message.delivery_id}",
        "title": message.title,
        "message": message.body,
        "recipient": message.recipient,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """The ``X-SafeMap-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def send_webhook(config: ChannelConfig, message: Message) -> Outcome:
    """POST the signed delivery to the webhook; 2xx is delivered."""
    if not config.webhook_url or not config.webhook_secret:
        return Outcome(False, "未配置", retry=False)
    body = webhook_body(message)
    request = urllib.request.Request(
        config.webhook_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(config.webhook_secret, body),
            "Idempotency-Key": f"{message.idempotency_key}:{message.delivery_id}",
            "X-SafeMap-Delivery": str(message.delivery_id),
            "User-Agent": "SafeMap-warnings/1",
        },
    )
    try:
        context = config.tls_context() if urlsplit(config.webhook_url).scheme == "https" else None
    except OSError:
        return Outcome(False, _CA_UNREADABLE)
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_s, context=context) as answer:
            status = int(answer.status)
            text = answer.read(300).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status = int(exc.code)
        retry = status >= 500 or status in RETRY_STATUS
        return Outcome(False, f"网关返回 HTTP {status}", retry=retry)
    except TimeoutError:
        return Outcome(False, f"网关 {config.timeout_s:g} 秒内无响应（超时）")
    except (urllib.error.URLError, OSError) as exc:
        return Outcome(False, f"无法连接网关：{_reason(exc)}")
    if 200 <= status < 300:
        return Outcome(True, f"HTTP {status} {text[:200]}".strip())
    return Outcome(False, f"网关返回 HTTP {status}", retry=status >= 500 or status in RETRY_STATUS)


SENDERS = {"email": send_email, "webhook": send_webhook}


def _reason(exc: BaseException) -> str:
    """The cause of a network error without any URL (which may carry a password)."""
    inner = getattr(exc, "reason", None)
    if isinstance(inner, BaseException):
        exc = inner
    if isinstance(exc, TimeoutError):
        return "超时"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝"
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = str(exc.verify_message or "")[:150]
        if exc.verify_code in _NAME_MISMATCH:
            return f"服务器证书与所连主机名不符（{why}）"
        return f"服务器证书未通过验证（{why}）；内网自签 CA 请设置 SAFEMAP_TLS_CA_FILE"
    if isinstance(exc, ssl.SSLError):
        return f"TLS 握手失败（{str(exc.reason or type(exc).__name__)[:150]}）"
    text = getattr(exc, "strerror", None) or type(exc).__name__
    return str(text)[:200]


def require_channels(channels: list[str]) -> list[str]:
    """The chosen channels, known and without repeats; 422 naming ``channels`` otherwise."""
    known = ("email", "webhook", "call_list")
    if not channels:
        raise invalid("channels", "请至少选择一个发布渠道（email 电子邮件、webhook 短信/广播网关、call_list 电话通知）")
    wrong = [c for c in channels if c not in known]
    if wrong:
        raise invalid("channels", f"没有发布渠道 {'、'.join(wrong)}；可选：email、webhook、call_list")
    return list(dict.fromkeys(channels))


__all__ = [
    "SIGNATURE_HEADER",
    "ChannelConfig",
    "Message",
    "Outcome",
    "check_ca_file",
    "check_smtp_url",
    "check_webhook_url",
    "require_channels",
    "send_email",
    "send_webhook",
    "sign",
    "webhook_body",
]
