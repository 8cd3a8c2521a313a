"""Briefing delivery: SMTP against aiosmtpd and chat webhooks against an HTTP server, all on 127.0.0.1."""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import json
import shutil
import ssl
import subprocess
import urllib.parse
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from hub_pipeline.lib.briefing import to_markdown, write_offline
from hub_pipeline.lib.config import ConfigError, load_radars
from hub_pipeline.lib.delivery import SmtpSettings, deliver_briefing, sign_webhook, to_slack_mrkdwn, webhook_payload
from tests.conftest import run_day, write_sources
from tests.test_briefing_offline import DAY, radar, real_papers

WEBHOOK_REPLIES = {
    "/feishu": (200, b'{"code":0,"msg":"success","data":{}}'),
    "/dingtalk": (200, b'{"errcode":0,"errmsg":"ok"}'),
    "/wecom": (200, b'{"errcode":0,"errmsg":"ok"}'),
    "/slack": (200, b"ok"),
    "/dingtalk-keyword": (200, b'{"errcode":310000,"errmsg":"keywords not in content"}'),
    "/slack-gone": (404, b"no_service"),
}


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(**kwargs) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[tuple[str, dict]]]]:
    """Serve WEBHOOK_REPLIES; yield the base URL and the (path, JSON body) of every POST."""
    received: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, json.loads(body)))
            status, reply = WEBHOOK_REPLIES.get(self.path.split("?")[0], (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format, *args) -> None:  # noqa: A002, ANN001
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def briefing_markdown(language: str = "zh-CN") -> str:
    papers = real_papers()
    return to_markdown(write_offline(radar(language), DAY, papers), papers)


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    return {"HUB_SMTP_HOST": "127.0.0.1", "HUB_SMTP_PORT": str(port), "HUB_SMTP_FROM": "radar@example.org", **extra}


def deliver(email_to=(), webhooks=(), environ=None, already_sent=frozenset()):
    markdown = briefing_markdown()
    with httpx.Client() as client:
        return deliver_briefing(
            list(email_to),
            list(webhooks),
            subject="研究雷达简报：Generative AI（2025-03-20）",
            markdown=markdown,
            html="<p>html</p>",
            link="https://example.org/hub/genai/2025-03-20.html",
            environ=environ or {},
            http_client=client,
            already_sent=set(already_sent),
        )


def test_feishu_payload():
    payload = webhook_payload("feishu", "标题", "**粗体** 文本")
    assert payload == {
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": "标题"}},
            "elements": [{"tag": "markdown", "content": "**粗体** 文本"}],
        },
    }


def test_dingtalk_payload():
    assert webhook_payload("dingtalk", "标题", "# 简报") == {"msgtype": "markdown", "markdown": {"title": "标题", "text": "# 简报"}}


def test_wecom_payload():
    assert webhook_payload("wecom", "标题", "# 简报") == {"msgtype": "markdown", "markdown": {"content": "# 简报"}}


def test_slack_payload():
    payload = webhook_payload("slack", "Title", "## Themes\n\n**[A paper](https://arxiv.org/abs/2503.14558)** [[1]](https://arxiv.org/abs/1)")
    assert payload["text"] == "Title"
    assert payload["blocks"][0]["type"] == "section"
    assert payload["blocks"][0]["text"] == {
        "type": "mrkdwn",
        "text": "*Themes*\n\n*<https://arxiv.org/abs/2503.14558|A paper>* <https://arxiv.org/abs/1|[1]>",
    }


def test_wecom_long_briefing_cut():
    markdown = briefing_markdown() * 3
    content = webhook_payload("wecom", "t", markdown, "https://example.org/x.html")["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert "\n\n… https://example.org/x.html\n\n---\n\n" in content
    # The cut keeps the footer, so the message still names the offline writer.
    assert content.endswith("*本简报由离线摘录程序撰写（offline-5），未使用语言模型。*")
    assert content.count("离线") == 1


def test_slack_long_briefing_cut():
    text = webhook_payload("slack", "t", briefing_markdown("en") * 3, "https://example.org/x.html")["blocks"][0]["text"]["text"]
    assert len(text) <= 3000
    assert "\n… <https://example.org/x.html|…>\n\n---\n\n" in text
    assert text.endswith("*Written offline by the extractive writer (offline-5), without a language model.*")


def test_long_briefing_without_footer_cut():
    markdown = "\n".join(f"- line {number} " + "x" * 60 for number in range(200))
    content = webhook_payload("wecom", "t", markdown, "https://example.org/x.html")["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith("\n\n… https://example.org/x.html")


def test_slack_mrkdwn_heading():
    assert to_slack_mrkdwn("# Research radar briefing") == "*Research radar briefing*"


def test_unknown_kind_rejected():
    with pytest.raises(ValueError, match="unknown webhook kind 'teams'"):
        webhook_payload("teams", "t", "x")


def test_smtp_settings_missing_from():
    with pytest.raises(ValueError, match="HUB_SMTP_FROM is missing"):
        SmtpSettings.from_env({"HUB_SMTP_HOST": "127.0.0.1"})


def test_smtp_settings_defaults():
    settings = SmtpSettings.from_env({"HUB_SMTP_HOST": "mail.example.org", "HUB_SMTP_FROM": "a@example.org", "HUB_SMTP_STARTTLS": "true"})
    assert (settings.port, settings.starttls) == (587, True)
    assert SmtpSettings.from_env({}) is None


def test_email_sent():
    with smtp_server() as (inbox, port):
        results = deliver(email_to=["reader@example.org"], environ=smtp_env(port))
    assert [(r.channel, r.target, r.status) for r in results] == [("email", "reader@example.org", "sent")]
    sender, recipients, message = inbox.messages[0]
    assert sender == "radar@example.org"
    assert recipients == ["reader@example.org"]
    assert str(make_header(decode_header(message["Subject"]))) == "研究雷达简报：Generative AI（2025-03-20）"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode("utf-8") for part in message.walk() if not part.is_multipart()}
    assert "## 阅读清单" in parts["text/plain"]
    assert "<p>html</p>" in parts["text/html"]


def test_email_with_login():
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    with smtp_server(authenticator=authenticator, auth_require_tls=False) as (inbox, port):
        environ = smtp_env(port, HUB_SMTP_USER="radar", HUB_SMTP_PASSWORD="s3cret")
        results = deliver(email_to=["reader@example.org"], environ=environ)
    assert results[0].status == "sent"
    assert logins == [(b"radar", b"s3cret")]
    assert len(inbox.messages) == 1


def test_email_without_smtp_skipped():
    results = deliver(email_to=["reader@example.org"], environ={})
    assert results[0].status == "skipped"
    assert results[0].detail == "HUB_SMTP_HOST is not set: set the HUB_SMTP_* variables to send e-mail"


def test_email_server_down_failed():
    results = deliver(email_to=["reader@example.org"], environ=smtp_env(free_port()))
    assert results[0].status == "failed"
    assert results[0].detail.startswith("ConnectionRefusedError")


def test_webhooks_sent_in_platform_formats():
    kinds = ["feishu", "dingtalk", "wecom", "slack"]
    with webhook_server() as (base, received):
        environ = {f"HOOK_{kind.upper()}": f"{base}/{kind}" for kind in kinds}
        results = deliver(webhooks=[(kind, f"HOOK_{kind.upper()}", None) for kind in kinds], environ=environ)
    assert [(r.channel, r.status) for r in results] == [(kind, "sent") for kind in kinds]
    bodies = dict(received)
    assert bodies["/feishu"]["msg_type"] == "interactive"
    assert bodies["/dingtalk"]["msgtype"] == "markdown"
    assert bodies["/wecom"]["msgtype"] == "markdown"
    assert bodies["/slack"]["blocks"][0]["text"]["type"] == "mrkdwn"


def test_webhook_error_code_failed():
    with webhook_server() as (base, _):
        results = deliver(webhooks=[("dingtalk", "HOOK", None)], environ={"HOOK": f"{base}/dingtalk-keyword"})
    assert results[0].status == "failed"
    assert results[0].detail == "keywords not in content"


def test_webhook_http_error_hides_url():
    with webhook_server() as (base, _):
        url = f"{base}/slack-gone"
        results = deliver(webhooks=[("slack", "HOOK", None)], environ={"HOOK": url})
    assert results[0].status == "failed"
    assert results[0].detail == "HTTP 404: no_service"
    assert url not in results[0].detail


def test_webhook_url_unset_skipped():
    results = deliver(webhooks=[("wecom", "HUB_WECOM_URL", None)])
    assert results[0].status == "skipped"
    assert results[0].detail == "HUB_WECOM_URL is not set: put the webhook URL there"


def test_already_sent_skipped():
    results = deliver(webhooks=[("wecom", "HOOK", None)], environ={"HOOK": "http://127.0.0.1:9/x"}, already_sent={("wecom", "HOOK")})
    assert (results[0].status, results[0].detail) == ("skipped", "already sent")


def test_delivery_config_validated(tmp_path):
    radars = tmp_path / "radars.yaml"
    radars.write_text(
        "radars:\n  - {id: r, name: R, language: en, query: x, delivery: {webhooks: [{kind: teams, url_env: HOOK}]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="delivery.webhooks.0.kind"):
        load_radars(radars)


def test_delivery_config_rejects_url(tmp_path):
    radars = tmp_path / "radars.yaml"
    radars.write_text(
        "radars:\n  - {id: r, name: R, language: en, query: x, delivery: {webhooks: [{kind: slack, url_env: 'https://hooks.slack.com/x'}]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="url_env"):
        load_radars(radars)


def test_pipeline_delivers_once(tmp_path, fixtures, monkeypatch):
    feed = fixtures / "arxiv_rss_days" / "2025-03-20" / "cs.CL.xml"
    sources = write_sources(tmp_path / "sources.yaml", [{"id": "arxiv-cs-cl", "kind": "arxiv_rss", "category": "cs.CL", "url": feed.as_uri()}])
    radars = tmp_path / "radars.yaml"
    radars.write_text(
        "radars:\n"
        "  - id: arabic-llm\n    name: Arabic LLMs\n    language: en\n    query: 'ti:Arabic'\n"
        "    delivery:\n      email: [reader@example.org]\n"
        "      webhooks: [{kind: wecom, url_env: HUB_TEST_WECOM}, {kind: feishu, url_env: HUB_TEST_FEISHU}]\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data_dir = tmp_path / "data"
    with smtp_server() as (inbox, port), webhook_server() as (base, received):
        for name, value in smtp_env(port).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("HUB_TEST_WECOM", f"{base}/wecom")
        monkeypatch.setenv("HUB_TEST_FEISHU", f"{base}/feishu")
        first = run_day(data_dir, "2025-03-20", sources, radars)
        second = run_day(data_dir, "2025-03-20", sources, radars)

    assert first.success and second.success
    assert len(inbox.messages) == 1
    assert sorted(path for path, _ in received) == ["/feishu", "/wecom"]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute("SELECT channel, target, status, detail FROM deliveries ORDER BY channel").fetchall()
    assert rows == [
        ("email", "reader@example.org", "sent", "already sent"),
        ("feishu", "HUB_TEST_FEISHU", "sent", "already sent"),
        ("wecom", "HUB_TEST_WECOM", "sent", "already sent"),
    ]
    feed_xml = (data_dir / "site" / "arabic-llm" / "feed.atom").read_text(encoding="utf-8")
    assert "urn:academichub:briefing:arabic-llm:2025-03-20" in feed_xml


def test_feishu_signed():
    _, payload = sign_webhook("feishu", "https://open.feishu.cn/x", {"msg_type": "text"}, "s3cret", now=1599360473.5)
    expected = base64.b64encode(hmac.new(b"1599360473\ns3cret", b"", hashlib.sha256).digest()).decode()
    assert payload == {"msg_type": "text", "timestamp": "1599360473", "sign": expected}


def test_dingtalk_signed():
    url, payload = sign_webhook("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t", {"a": 1}, "SEC1", now=1700000000.123)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    expected = base64.b64encode(hmac.new(b"SEC1", b"1700000000123\nSEC1", hashlib.sha256).digest()).decode()
    assert query["timestamp"] == ["1700000000123"]
    assert query["sign"] == [expected]
    assert query["access_token"] == ["t"]
    assert payload == {"a": 1}


def test_signed_webhook_delivered():
    with webhook_server() as (base, received):
        environ = {"HOOK": f"{base}/dingtalk", "HOOK_SECRET": "SEC1"}
        results = deliver(webhooks=[("dingtalk", "HOOK", "HOOK_SECRET")], environ=environ)
    assert results[0].status == "sent"
    assert received[0][0].startswith("/dingtalk?timestamp=")


def test_signing_secret_unset_skipped():
    results = deliver(webhooks=[("feishu", "HOOK", "HOOK_SECRET")], environ={"HOOK": "http://127.0.0.1:9/x"})
    assert results[0].status == "skipped"
    assert results[0].detail == "HOOK_SECRET is not set: put the bot's signing secret there"


def test_secret_rejected_for_slack(tmp_path):
    radars = tmp_path / "radars.yaml"
    radars.write_text(
        "radars:\n  - {id: r, name: R, language: en, query: x, delivery: {webhooks: [{kind: slack, url_env: HOOK, secret_env: S}]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="secret_env is only used by feishu and dingtalk"):
        load_radars(radars)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_email_starttls_verified(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    with smtp_server(tls_context=server_context, require_starttls=True) as (inbox, port):
        trusted = deliver(email_to=["reader@example.org"], environ=smtp_env(port, HUB_SMTP_STARTTLS="true", HUB_SMTP_CA_FILE=str(cert)))
        untrusted = deliver(email_to=["reader@example.org"], environ=smtp_env(port, HUB_SMTP_STARTTLS="true"))
    assert trusted[0].status == "sent"
    assert len(inbox.messages) == 1
    assert untrusted[0].status == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted[0].detail
