"""Secrets never reach an output: a day run with an API key and an SMTP password set leaves no trace
of either in files, warehouse tables, the Dagster event log or the command's output."""

import os
import sqlite3
import subprocess
import sys

import duckdb

from aiosmtpd.smtp import AuthResult

from tests.conftest import REPO, arxiv_day_sources, write_sources
from tests.openai_stub_server import ScriptedResponse, chat_completion, serve_openai_stub
from tests.test_delivery import smtp_server

API_KEY = "sk-test-7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e"
SMTP_PASSWORD = "smtp-pass-Q8z!v3Lr-0e7f"
RADARS = """radars:
  - id: arabic-llm
    name: Arabic LLMs
    language: en
    query: 'ti:Arabic'
    delivery: {email: [reader@example.org]}
  - {id: arabic-zh, name: 阿拉伯语模型, language: zh-CN, query: 'ti:Arabic'}
"""


def _table_text(database) -> str:
    with duckdb.connect(str(database), read_only=True) as conn:
        tables = conn.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
        return "\n".join(repr(conn.execute(f"SELECT * FROM {name}").fetchall()) for (name,) in tables)


def _sqlite_text(path) -> str:
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(conn.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables)


def test_no_secret_in_any_output(tmp_path, fixtures):
    data_dir = tmp_path / "data"
    sources = write_sources(tmp_path / "sources.yaml", arxiv_day_sources(fixtures, "2025-03-20")[1:2])  # cs.CL
    radars = tmp_path / "radars.yaml"
    radars.write_text(RADARS, encoding="utf-8")
    # The first call is refused with a message that echoes the key, as some servers do; the
    # second returns a reply that is not JSON. Both errors are stored in briefings.error.
    replies = [
        ScriptedResponse(401, {"error": {"message": f"Incorrect API key provided: {API_KEY}", "type": "invalid_request_error"}}),
        ScriptedResponse(200, chat_completion(f"not JSON, and the key {API_KEY} echoed")),
    ]
    logins = []

    def reject_login(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        # The server receives the password and rejects it, so the delivery fails with the
        # server's error, which must reach the deliveries table without the password.
        logins.append(auth_data.password)
        return AuthResult(success=False, handled=False)

    with serve_openai_stub(replies) as stub, smtp_server(authenticator=reject_login, auth_require_tls=False) as (inbox, port):
        env = {
            **os.environ,
            "HUB_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(REPO),
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": stub.base_url + "/v1",
            "HUB_LLM_MODEL": "stub-model",
            "HUB_SMTP_HOST": "127.0.0.1",
            "HUB_SMTP_PORT": str(port),
            "HUB_SMTP_FROM": "radar@example.org",
            "HUB_SMTP_USER": "radar",
            "HUB_SMTP_PASSWORD": SMTP_PASSWORD,
        }
        env.pop("DAGSTER_HOME", None)
        run = subprocess.run(
            [sys.executable, "-m", "hub_pipeline.cli", "run", "--date", "2025-03-20", "--sources", str(sources), "--radars", str(radars)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        requests = list(stub.requests)

    assert run.returncode == 0, run.stderr[-3000:]
    assert requests and requests[0].headers["authorization"] == f"Bearer {API_KEY}", "the key was really used"
    # smtplib tries each mechanism the server offers, so the password may arrive more than once.
    assert set(logins) == {SMTP_PASSWORD.encode()}, "the SMTP password was really used"
    assert inbox.messages == []

    outputs = {"stdout": run.stdout, "stderr": run.stderr, "warehouse": _table_text(data_dir / "warehouse.duckdb")}
    outputs["published"] = _table_text(data_dir / "published" / "warehouse.duckdb")
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file():
            continue
        outputs[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".db":  # the Dagster instance's run, event-log and schedule storage
            outputs[f"{path} (rows)"] = _sqlite_text(path)
    assert any(path.endswith(".db") for path in outputs), "the Dagster event log was inspected"

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        errors = [row[0] for row in conn.execute("SELECT error FROM briefings ORDER BY radar_id").fetchall()]
        deliveries = conn.execute("SELECT channel, status, detail FROM deliveries").fetchall()
    assert all(errors), "both LLM failures are recorded"
    assert [(channel, status) for channel, status, _ in deliveries] == [("email", "failed")]
    assert deliveries[0][2], "the SMTP failure is recorded with its reason"
    for secret in (API_KEY, SMTP_PASSWORD):
        leaks = [name for name, text in outputs.items() if secret in text]
        assert leaks == [], f"{secret[:8]}... found in {leaks}"
