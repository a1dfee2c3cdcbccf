"""Alert delivery: a webhook POST or an e-mail over SMTP, retried, bounded, never fatal.

Standard library only (``urllib.request``, ``smtplib``, ``ssl``, ``email``): alerts add no
runtime dependency. Every channel runs in its own daemon thread against one shared deadline,
so a server that stalls, a name that never resolves or a slow SMTP dialogue costs the run at
most ``max_seconds`` (plus a second of grace) and nothing is left holding the interpreter
open at exit. Failures come back as ``Delivery`` records, never as exceptions.

Secrets (the webhook URL's path and query, which carry the token, user info in it, and the
SMTP password) never appear in a ``Delivery``, in a log record or in an exception message
that leaves this module: targets are shown redacted, and every error text is built from
known parts and then scrubbed of each secret.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import http.client
import ipaddress
import logging
import smtplib
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

__all__ = [
    "Channel",
    "Delivery",
    "RetryPolicy",
    "redact_url",
    "post_webhook",
    "send_email",
    "build_email",
    "deliver_all",
]

log = logging.getLogger("monitor.alerts")

Channel = Literal["file", "webhook", "email"]

#: Answers worth another try; other 4xx mean the URL or token is wrong and stay wrong.
_PASSING_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
_MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Delivery:
    """How one channel went. ``target`` is redacted; ``error`` is one line without secrets."""

    channel: Channel
    target: str
    ok: bool
    attempts: int = 0
    seconds: float = 0.0
    error: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"{self.channel} {self.target}: delivered ({self.attempts} attempt(s))"
        return (
            f"{self.channel} {self.target}: FAILED after {self.attempts} attempt(s), "
            f"{self.seconds:.1f} s: {self.error}"
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts = 1 + ``retries``; waits ``backoff_s``, then twice that, ...; each attempt
    gets ``timeout_s`` or what is left of ``max_seconds``, whichever is less."""

    timeout_s: float = 10.0
    retries: int = 2
    max_seconds: float = 30.0
    backoff_s: float = 1.0


class _Permanent(Exception):
    """A failure another attempt would not fix (4xx, refused login, bad address)."""


class _Passing(Exception):
    """A failure another attempt may fix (5xx, timeout, refused or reset connection)."""


# --------------------------------------------------------------------------- secrets


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: no user info, path, query or fragment (tokens live there).

    >>> redact_url("https://hooks.slack.com/services/T0/B0/secret?x=1")
    'https://hooks.slack.com/…'
    """
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    if ":" in host:
        host = f"[{host}]"
    hidden = "/…" if (parts.path not in ("", "/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme or '?'}://{host}{port}{hidden}"


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that may hold a token, longest first."""
    found = [url]
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return found
    found += [
        parts.path,
        parts.query,
        parts.fragment,
        parts.password or "",
        parts.username or "",
        urllib.parse.unquote(parts.path),
    ]
    found += [segment for segment in parts.path.split("/") if len(segment) >= 6]
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def scrub_secrets(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return " ".join(text.split())[:300]


def _describe(exc: BaseException) -> str:
    """A short reason for ``exc`` built from what it is, not from arbitrary text alone."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return _describe(reason) if isinstance(reason, BaseException) else str(reason)
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return f"host name not resolved ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"SMTP {exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient refused: " + ", ".join(
            f"{addr} ({code})" for addr, (code, _) in exc.recipients.items()
        )
    if isinstance(exc, (_Permanent, _Passing)):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- retries


def _attempts(
    name: str,
    attempt: Callable[[float], None],
    policy: RetryPolicy,
    deadline: float,
    secrets: Sequence[str],
) -> tuple[bool, int, str | None]:
    """Run ``attempt(timeout_s)`` until it succeeds, fails for good, or time runs out."""
    n = 0
    error: str | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining < 0.05:
            error = (error or "nothing tried") + "; no time left (alert_max_seconds)"
            return False, n, error
        n += 1
        try:
            attempt(min(policy.timeout_s, remaining))
            return True, n, None
        except _Permanent as exc:
            return False, n, scrub_secrets(_describe(exc), secrets)
        except Exception as exc:  # noqa: BLE001 - any failure of one attempt is passing
            error = scrub_secrets(_describe(exc), secrets)
            log.info("alerts: %s attempt %d failed: %s", name, n, error)
        if n > policy.retries:
            return False, n, error
        wait = policy.backoff_s * 2 ** (n - 1)
        if time.monotonic() + wait >= deadline:
            return False, n, f"{error}; no time left to retry (alert_max_seconds)"
        time.sleep(wait)


# --------------------------------------------------------------------------- webhook


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirected POST would be turned into a GET without the alert: refuse redirects."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post_once(url: str, body: bytes, timeout_s: float, user_agent: str) -> None:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": user_agent},
    )
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            response.read(_MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in _PASSING_HTTP:
            raise _Passing(f"HTTP {exc.code} {exc.reason}") from None
        if 300 <= exc.code < 400:
            raise _Permanent(f"HTTP {exc.code} redirect; give the final URL") from None
        raise _Permanent(f"HTTP {exc.code} {exc.reason}") from None
    except http.client.HTTPException as exc:
        raise _Passing(f"bad HTTP answer ({type(exc).__name__})") from None


def post_webhook(
    url: str, body: bytes, policy: RetryPolicy, deadline: float, *, user_agent: str = "monitor"
) -> Delivery:
    """POST ``body`` (JSON) to ``url`` with retries; never raises."""
    started = time.monotonic()
    target = redact_url(url)
    secrets = url_secrets(url)
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        return Delivery("webhook", target, False, 0, 0.0, "alert_webhook_url is not an http(s) URL")
    ok, n, error = _attempts(
        "webhook", lambda t: _post_once(url, body, t, user_agent), policy, deadline, secrets
    )
    return Delivery("webhook", target, ok, n, time.monotonic() - started, error)


# --------------------------------------------------------------------------- e-mail


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_email(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    attachment: bytes,
    attachment_name: str,
    when: dt.datetime,
) -> EmailMessage:
    """A plain-text message with the GeoJSON attached.

    Raises ``ValueError`` when a header value would carry a line break.
    """
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when.astimezone(dt.UTC))
    # An explicit domain: the default looks up this host's FQDN, which may hang on DNS.
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2]
    msg["Message-ID"] = email.utils.make_msgid("monitor-alert", domain=domain or "localhost")
    msg.set_content(body, charset="utf-8")
    msg.add_attachment(
        attachment, maintype="application", subtype="geo+json", filename=attachment_name
    )
    return msg


def _smtp_once(
    msg: EmailMessage,
    host: str,
    port: int,
    timeout_s: float,
    credentials: tuple[str, str] | None,
    context: ssl.SSLContext,
) -> None:
    smtp: smtplib.SMTP
    if port == 465:
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout_s, context=context)
        secure = True
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout_s)
        secure = False
    with smtp:
        smtp.ehlo()
        if not secure and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            secure = True
        if credentials is not None:
            if not secure and not _is_loopback(host):
                raise _Permanent("the server offers no STARTTLS; the password is not sent in clear")
            try:
                smtp.login(*credentials)
            except smtplib.SMTPAuthenticationError as exc:
                raise _Permanent(f"login refused (SMTP {exc.smtp_code})") from None
            except smtplib.SMTPNotSupportedError:
                raise _Permanent("the server does not support login (AUTH)") from None
        try:
            refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise _Permanent(_describe(exc)) from None
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise _Permanent(_describe(exc)) from None
            raise
        if refused:
            # Sent to the others: another attempt would send it to them twice.
            raise _Permanent(
                "refused recipients: "
                + ", ".join(f"{addr} ({code})" for addr, (code, _) in refused.items())
            )


def send_email(
    msg: EmailMessage,
    host: str,
    port: int,
    policy: RetryPolicy,
    deadline: float,
    *,
    credentials: tuple[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Delivery:
    """Send ``msg`` through ``host:port`` with retries; never raises.

    Uses TLS from the start on port 465, else STARTTLS when the server offers it. With
    ``credentials`` it logs in, but refuses to send a password in clear except to a
    loopback relay.
    """
    started = time.monotonic()
    n_to = len(email.utils.getaddresses(msg.get_all("To", [])))
    target = f"smtp://{host}:{port} to {n_to} recipient(s)"
    secrets = [s for s in (credentials[1] if credentials else "",) if s]
    context = ssl_context or ssl.create_default_context()
    ok, n, error = _attempts(
        "e-mail",
        lambda t: _smtp_once(msg, host, port, t, credentials, context),
        policy,
        deadline,
        secrets,
    )
    return Delivery("email", target, ok, n, time.monotonic() - started, error)


# --------------------------------------------------------------------------- together


def deliver_all(
    jobs: Sequence[tuple[Channel, str, Callable[[float], Delivery]]], max_seconds: float
) -> list[Delivery]:
    """Run each ``(channel, target, send)`` in a daemon thread; ``send(deadline)`` returns a
    ``Delivery``. Returns within ``max_seconds`` plus one second, in the order given; a
    channel still busy then is reported as failed (its thread is abandoned, not joined)."""
    deadline = time.monotonic() + max_seconds
    results: dict[int, Delivery] = {}
    threads = []
    for index, (channel, target, send) in enumerate(jobs):

        def run(
            index: int = index,
            channel: Channel = channel,
            target: str = target,
            send: Callable[[float], Delivery] = send,
        ) -> None:
            try:
                results[index] = send(deadline)
            except Exception as exc:  # noqa: BLE001 - a bug here must not fail the run
                results[index] = Delivery(
                    channel, target, False, 0, 0.0, f"internal error: {type(exc).__name__}"
                )

        thread = threading.Thread(target=run, name=f"monitor-alert-{channel}", daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, deadline + 1.0 - time.monotonic()))
    out = []
    for index, (channel, target, _) in enumerate(jobs):
        out.append(
            results.get(index)
            or Delivery(
                channel,
                target,
                False,
                0,
                max_seconds,
                f"still busy after {max_seconds:g} s (alert_max_seconds); abandoned",
            )
        )
    for delivery in out:
        # INFO even for failures: the caller gets the record and reports it; a WARNING would
        # reach stderr a second time through logging's last-resort handler.
        log.info("alerts: %s", delivery.line())
    return out
