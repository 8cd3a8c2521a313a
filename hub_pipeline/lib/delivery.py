"""Delivery of a briefing by SMTP e-mail and chat webhooks (Feishu, DingTalk, WeCom, Slack).

Delivery is opt-in per radar in radars.yaml. Secrets never live in the configuration: the
SMTP settings come from HUB_SMTP_* variables and each webhook names the environment variable
that contains its URL (the URL carries the bot's token).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import smtplib
import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

# Message size limits of each platform's bot API, as their documentation states them
# (WeCom markdown content 4,096 bytes; DingTalk about 20,000 bytes; Slack section text
# 3,000 characters; Feishu card request body 30 KB).
_LIMITS_BYTES = {"feishu": 20_000, "dingtalk": 18_000, "wecom": 4_000}
_SLACK_SECTION_CHARS = 3_000
WEBHOOK_TIMEOUT_S = 15.0


@dataclass(slots=True)
class SmtpSettings:
    """SMTP server settings, read from the environment."""

    host: str
    port: int
    sender: str
    user: str = ""
    password: str = ""
    starttls: bool = False
    ca_file: str = ""  # extra CA certificates to trust for STARTTLS, e.g. a company mail server's
    timeout_s: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings | None:
        """Read HUB_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM, _STARTTLS and _CA_FILE; None without a host."""
        host = environ.get("HUB_SMTP_HOST", "").strip()
        if not host:
            return None
        starttls = environ.get("HUB_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes")
        port_text = environ.get("HUB_SMTP_PORT", "").strip() or ("587" if starttls else "25")
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"HUB_SMTP_PORT must be a port number, got {port_text!r}") from None
        sender = environ.get("HUB_SMTP_FROM", "").strip()
        if not sender:
            raise ValueError("HUB_SMTP_FROM is missing: set the sender address for briefing e-mails")
        return cls(
            host=host,
            port=port,
            sender=sender,
            user=environ.get("HUB_SMTP_USER", ""),
            password=environ.get("HUB_SMTP_PASSWORD", ""),
            starttls=starttls,
            ca_file=environ.get("HUB_SMTP_CA_FILE", "").strip(),
        )


@dataclass(slots=True)
class DeliveryResult:
    """Outcome of one delivery target: status is sent, failed or skipped."""

    channel: str
    target: str
    status: str
    detail: str = ""


def send_email(settings: SmtpSettings, recipient: str, subject: str, markdown: str, html: str) -> None:
    """Send one briefing e-mail: the Markdown as text/plain, with an HTML alternative."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message.set_content(markdown)
    message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")

    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        if settings.starttls:
            # smtplib's own default context does not check the certificate; this one does.
            smtp.starttls(context=ssl.create_default_context(cafile=settings.ca_file or None))
        if settings.user:
            smtp.login(settings.user, settings.password)
        smtp.send_message(message)


def webhook_payload(kind: str, title: str, markdown: str, link: str = "") -> dict:
    """Build the JSON body of a chat bot message in the platform's own format."""
    if kind == "feishu":
        content = _fit_bytes(markdown, _LIMITS_BYTES["feishu"], link)
        return {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": title}},
                "elements": [{"tag": "markdown", "content": content}],
            },
        }
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": _fit_bytes(markdown, _LIMITS_BYTES["dingtalk"], link)}}
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": _fit_bytes(markdown, _LIMITS_BYTES["wecom"], link)}}
    if kind == "slack":
        body = _fit_chars(to_slack_mrkdwn(markdown), _SLACK_SECTION_CHARS, link)
        return {"text": title, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]}
    raise ValueError(f"unknown webhook kind {kind!r}: use feishu, dingtalk, wecom or slack")


def sign_webhook(kind: str, url: str, payload: dict, secret: str, now: float | None = None) -> tuple[str, dict]:
    """Add the signature a Feishu or DingTalk bot with signing enabled checks; return (url, payload).

    Both sign "<timestamp>\n<secret>" with HMAC-SHA256 and send it base64-encoded: Feishu
    with the string as the key and seconds in the JSON body, DingTalk with the secret as the
    key and milliseconds in the URL's query.
    """
    now = time.time() if now is None else now
    if kind == "feishu":
        timestamp = str(int(now))
        digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        return url, {**payload, "timestamp": timestamp, "sign": base64.b64encode(digest).decode()}
    if kind == "dingtalk":
        timestamp = str(int(now * 1000))
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}timestamp={timestamp}&sign={sign}", payload
    raise ValueError(f"{kind} webhooks are not signed: remove secret_env")


def post_webhook(client: httpx.Client, kind: str, url: str, payload: dict) -> tuple[bool, str]:
    """POST a payload and read the platform's reply; return (delivered, detail).

    Feishu, DingTalk and WeCom answer HTTP 200 with an error code in the body, so the body
    decides; Slack answers the text "ok".
    """
    response = client.post(url, json=payload, timeout=WEBHOOK_TIMEOUT_S)
    body = response.text.strip()
    if response.status_code >= 400:
        return False, f"HTTP {response.status_code}: {body[:200]}"
    if kind == "slack":
        return body == "ok", body[:200]
    try:
        data = response.json()
    except ValueError:
        return False, f"reply is not JSON: {body[:200]}"
    if kind == "feishu":
        code = data.get("code", data.get("StatusCode", 0))
        return code == 0, str(data.get("msg") or data.get("StatusMessage") or "")
    return data.get("errcode") == 0, str(data.get("errmsg", ""))


def to_slack_mrkdwn(markdown: str) -> str:
    """Convert the briefing's Markdown to Slack's mrkdwn: links, bold and headings."""
    converted = re.sub(r"\[\[(\d+)\]\]\((https?://[^)\s]+)\)", r"<\2|[\1]>", markdown)
    converted = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", converted)
    converted = re.sub(r"\*\*(.+?)\*\*", r"*\1*", converted)
    converted = re.sub(r"^#{1,6}\s+(.*)$", r"*\1*", converted, flags=re.MULTILINE)
    return converted


def _keep_footer(text: str, tail: str, limit: int, size: Callable[[str], int]) -> tuple[str, str]:
    """Return the part of a briefing to cut and the tail to append after the cut.

    The footer (from the last "---" line on) moves into the tail when it fits, because it names
    who wrote the briefing (the model, or the offline writer) and why an LLM call failed.
    """
    body, rule, footer = text.rpartition("\n---\n")
    if not rule:
        return text, tail
    with_footer = f"{tail}\n\n---\n{footer.rstrip()}"
    if size(with_footer) >= limit:
        return text, tail
    return body, with_footer


def _fit_bytes(text: str, limit: int, link: str) -> str:
    if len(text.encode("utf-8")) <= limit:
        return text
    body, tail = _keep_footer(text, f"\n\n… {link}" if link else "\n\n…", limit, lambda value: len(value.encode("utf-8")))
    kept: list[str] = []
    size = len(tail.encode("utf-8"))
    for line in body.splitlines():
        line_size = len(line.encode("utf-8")) + 1
        if size + line_size > limit:
            break
        kept.append(line)
        size += line_size
    return "\n".join(kept) + tail


def _fit_chars(text: str, limit: int, link: str) -> str:
    if len(text) <= limit:
        return text
    body, tail = _keep_footer(text, f"\n… <{link}|…>" if link else "\n…", limit, len)
    cut = body[: limit - len(tail)]
    return cut[: cut.rfind("\n")] + tail if "\n" in cut else cut + tail


def deliver_briefing(
    email: list[str],
    webhooks: list[tuple[str, str, str | None]],
    *,
    subject: str,
    markdown: str,
    html: str,
    link: str,
    environ: Mapping[str, str],
    http_client: httpx.Client,
    already_sent: set[tuple[str, str]],
) -> list[DeliveryResult]:
    """Send one briefing to every configured target and return one result per target.

    ``webhooks`` contains (kind, variable with the URL, variable with the signing secret or None). Targets in
    ``already_sent`` (channel, target) got this same briefing before and are skipped, so a
    re-run of a day sends nothing twice. A failure of one target does not stop the others.
    """
    results: list[DeliveryResult] = []
    smtp: SmtpSettings | None = None
    smtp_error = ""
    if email:
        try:
            smtp = SmtpSettings.from_env(environ)
            if smtp is None:
                smtp_error = "HUB_SMTP_HOST is not set: set the HUB_SMTP_* variables to send e-mail"
        except ValueError as error:
            smtp_error = str(error)

    for recipient in email:
        if ("email", recipient) in already_sent:
            results.append(DeliveryResult("email", recipient, "skipped", "already sent"))
        elif smtp is None:
            results.append(DeliveryResult("email", recipient, "skipped", smtp_error))
        else:
            try:
                send_email(smtp, recipient, subject, markdown, html)
                results.append(DeliveryResult("email", recipient, "sent"))
            except (OSError, smtplib.SMTPException) as error:
                results.append(DeliveryResult("email", recipient, "failed", f"{type(error).__name__}: {error}"[:300]))

    for kind, url_env, secret_env in webhooks:
        if (kind, url_env) in already_sent:
            results.append(DeliveryResult(kind, url_env, "skipped", "already sent"))
            continue
        url = environ.get(url_env, "").strip()
        if not url:
            results.append(DeliveryResult(kind, url_env, "skipped", f"{url_env} is not set: put the webhook URL there"))
            continue
        payload = webhook_payload(kind, subject, markdown, link)
        request_url = url
        if secret_env:
            secret = environ.get(secret_env, "")
            if not secret:
                results.append(DeliveryResult(kind, url_env, "skipped", f"{secret_env} is not set: put the bot's signing secret there"))
                continue
            request_url, payload = sign_webhook(kind, url, payload, secret)
        try:
            delivered, detail = post_webhook(http_client, kind, request_url, payload)
        except httpx.HTTPError as error:
            # The message of an httpx error can contain the URL, and with it the bot's token.
            delivered, detail = False, f"{type(error).__name__}: request to ${url_env} failed"
        results.append(DeliveryResult(kind, url_env, "sent" if delivered else "failed", detail.replace(url, f"${url_env}")))
    return results
