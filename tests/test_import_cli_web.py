"""The import from the command line and from the web, a crash mid-import, and random input."""
from __future__ import annotations

import io
import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO_ROOT, SHARED_DIR, client_as, make_app, needs_shared, store_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from import_builders import SOURCE, import_count, long_csv, poverty_annex_xlsx, poverty_rows, units_of, value_rows

from mapapp.ingest import indicator_import, transaction
from mapapp.store import db

pytestmark = needs_shared


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# --- CLI ------------------------------------------------------------------------------------

def test_cli_dry_run_import_history_undo(fresh_app, tmp_path):
    runner = fresh_app.test_cli_runner()
    before = value_rows(fresh_app)
    path = write(tmp_path, "pl.xlsx", poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021)), year=2021))
    result = runner.invoke(args=["import-indicators", path, "--source", SOURCE, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "→" in result.output and value_rows(fresh_app) == before
    result = runner.invoke(args=["import-indicators", path, "--source", SOURCE, "--who", "cán bộ A"])
    assert result.exit_code == 0, result.output
    assert "#1" in result.output and "writing" in result.output
    result = runner.invoke(args=["imports"])
    assert "#1" in result.output and "applied" in result.output and "cán bộ A" in result.output
    result = runner.invoke(args=["undo-import", "1"])
    assert result.exit_code == 0 and value_rows(fresh_app) == before
    result = runner.invoke(args=["undo-import", "1"])
    assert result.exit_code != 0 and "already undone" in result.output


def test_cli_errors_one_per_line_and_nonzero_exit(fresh_app, tmp_path):
    rows = poverty_rows(units_of(fresh_app, 2021))
    rows[1][2] = "12,5a"
    rows[2][1] = -3
    path = write(tmp_path, "bad.xlsx", poverty_annex_xlsx(rows, year=2021))
    result = fresh_app.test_cli_runner().invoke(args=["import-indicators", path, "--source", SOURCE])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith("LỖI/ERROR")]
    assert len(lines) >= 2
    assert any("dòng/row 8" in line and "cột/column D" in line and "'12,5a'" in line for line in lines)
    assert any("dòng/row 9" in line and "cột/column C" in line and "số âm" in line for line in lines)
    assert import_count(fresh_app) == 0


def test_cli_column_roles_given_by_the_user(fresh_app, tmp_path):
    csv = "Xã;Người nghèo\r\nLìa;12,5\r\nHướng Lộc;8\r\n".encode()
    path = write(tmp_path, "x.csv", csv)
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["import-indicators", path, "--year", "2021", "--source", SOURCE, "--dry-run",
                                 "--column", "B=poverty_rate:value"])
    assert result.exit_code == 0, result.output
    assert "B=poverty_rate:value" in result.output


def test_sigkill_mid_import_leaves_previous_data_intact(fresh_app, tmp_path):
    """A real process importing a large file is killed with SIGKILL while writing."""
    units = units_of(fresh_app, 2019)
    records = []
    for year in range(1500, 2020):
        for _uid, unit in units:
            records.append((unit.name, year, "households", 500 + year % 97, "", ""))
            records.append((unit.name, year, "poverty_rate", "", 40 + year % 13, 500 + year % 97))
            records.append((unit.name, year, "population", 2000 + year % 89, "", ""))
    path = write(tmp_path, "big.csv", long_csv(records))
    before = value_rows(fresh_app)
    config = {"DATABASE_URL": fresh_app.config["DATABASE_URL"], "SHARED_DIR": str(SHARED_DIR),
              "CACHE_DIR": fresh_app.config["CACHE_DIR"], "FIRST_YEAR": 1000, "LAST_YEAR": 2025,
              "SECRET_KEY": "a-key-for-the-import-process-0123456789"}
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", f"mapapp:create_app({config!r})", "import-indicators", path,
         "--source", SOURCE], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if "writing:" in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None and not any("writing:" in line for line in seen):
            proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)[-2000:]
    assert any("writing:" in line for line in seen)
    assert value_rows(fresh_app) == before and import_count(fresh_app) == 0
    with store_engine(fresh_app).connect() as conn:
        assert db.integrity_check(conn) == "ok"
    # The store still takes imports afterwards.
    small = write(tmp_path, "pl.xlsx", poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021)), year=2021))
    result = fresh_app.test_cli_runner().invoke(args=["import-indicators", small, "--source", SOURCE])
    assert result.exit_code == 0, result.output


# --- web ------------------------------------------------------------------------------------

def upload_dir(app) -> str:
    """Where the app keeps uploads (beside its cache folder: the test's own folder)."""
    return os.path.join(os.path.dirname(app.config["CACHE_DIR"]), "uploads")


def _token(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def test_web_upload_preview_confirm_history_undo(fresh_app, editor_client):
    client = editor_client
    page = client.get("/import")
    assert page.status_code == 200 and "Nhập dữ liệu" in page.get_data(as_text=True)
    assert "Import data" in client.get("/import?lang=en").get_data(as_text=True)
    before = value_rows(fresh_app)
    assert 2021 in illustrative_years(client, "poverty_rate")
    data = poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021)), year=2021)
    preview = client.post("/import/indicators", data={"file": (io.BytesIO(data), "phu-luc.xlsx"), "source": SOURCE,
                                                      "who": "Nguyễn Văn A", "csrf_token": client.csrf},
                          content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Xác nhận nhập" in html and "minh họa" in html
    assert value_rows(fresh_app) == before
    token = _token(html)
    uploads = os.listdir(upload_dir(fresh_app))
    assert f"{token}.bin" in uploads
    form = {"token": token, "source": SOURCE, "who": "Nguyễn Văn A"}
    refused = client.post("/import/indicators/confirm", data=form)  # no CSRF token: refused, nothing written
    assert refused.status_code == 400 and value_rows(fresh_app) == before
    done = client.post("/import/indicators/confirm", data=form | {"csrf_token": client.csrf})
    assert done.status_code == 302
    detail = client.get(done.headers["Location"]).get_data(as_text=True)
    # "who" is the logged-in account, not a name typed into the form
    assert "editor1" in detail and "Nguyễn Văn A" not in detail and SOURCE in detail and "phu-luc.xlsx" in detail
    assert value_rows(fresh_app) != before
    # the summary of years this process keeps follows the data at once: 2021 is now sourced
    assert 2021 not in illustrative_years(client, "poverty_rate")
    history = client.get("/import").get_data(as_text=True)
    assert "phu-luc.xlsx" in history and "Hoàn tác" in history
    undone = client.post("/import/1/undo", data={"csrf_token": client.csrf})
    assert undone.status_code == 200 and value_rows(fresh_app) == before
    assert "đã hoàn tác" in client.get("/import").get_data(as_text=True)
    assert 2021 in illustrative_years(client, "poverty_rate")


def illustrative_years(client, indicator: str) -> list[int]:
    """The years ``/api/indicators`` marks illustrative for one indicator."""
    indicators = client.get("/api/indicators").get_json()["indicators"]
    return next(i for i in indicators if i["id"] == indicator)["illustrative_years"]


def test_web_reports_errors_and_escapes_everything(fresh_app, editor_client):
    client = editor_client
    rows = poverty_rows(units_of(fresh_app, 2021))
    rows[0][0] = "<script>alert(1)</script>"
    data = poverty_annex_xlsx(rows, year=2021)
    response = client.post("/import/indicators?lang=en", data={
        "file": (io.BytesIO(data), "../../<b>evil</b>.xlsx"), "source": "<i>x</i>", "csrf_token": client.csrf},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<b>evil" not in html and "Confirm import" not in html and "Errors" in html
    assert not os.path.exists(os.path.join(fresh_app.instance_path, "evil"))
    names = os.listdir(upload_dir(fresh_app))
    assert all(re.fullmatch(r"[0-9a-f]{32}\.(bin|json)", n) for n in names)


def test_web_refuses_wrong_types_expired_tokens_and_large_uploads(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=20_000)
    client = client_as(app, "editor")
    bad = client.post("/import/indicators", data={"file": (io.BytesIO(b"x"), "a.exe"), "csrf_token": client.csrf},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and ".exe" in bad.get_data(as_text=True)
    expired = client.post("/import/indicators/confirm", data={"token": "../../etc/passwd", "csrf_token": client.csrf})
    assert expired.status_code == 400
    big = client.post("/import/indicators", data={"file": (io.BytesIO(b"0" * 50_000), "a.csv"),
                                                  "csrf_token": client.csrf}, content_type="multipart/form-data")
    assert big.status_code == 413


# --- random input ---------------------------------------------------------------------------

_CELL = st.one_of(
    st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=12),
    st.sampled_from(["Tổng cộng", "Xã Lìa", "Lìa", "A Túc", "12,5%", "1.234", "-", "(1)", "STT", "Tên xã",
                     "Hộ nghèo", "Số hộ", "Tỷ lệ (%)", "Toàn huyện", "I", "1,2,3", "19489", "Năm 2021", "=SUM(A1)"]),
)


@pytest.fixture(scope="module")
def reference(app):
    with app.app_context():
        from mapapp.geo.units import load_units
        from mapapp.store.catalogue import load_catalogue
        with db.get_engine().connect() as conn:
            return load_units(conn), load_catalogue(conn), transaction.options_from_config(app.config, source="x",
                                                                                          year=2021)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=st.lists(st.lists(_CELL, min_size=1, max_size=8), min_size=0, max_size=12),
       header=st.booleans())
def test_random_cells_import_or_report_never_raise(reference, grid, header):
    import openpyxl

    registry, catalogue, options = reference
    book = openpyxl.Workbook()
    ws = book.active
    if header:
        ws.append(["STT", "Tên xã", "Tổng số hộ", "Hộ nghèo", None, "Hộ cận nghèo"])
        ws.append([None, None, None, "Số hộ", "Tỷ lệ (%)", "Số hộ"])
        ws.merge_cells("D1:E1")
    for row in grid:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    parsed = indicator_import.parse_indicator_file(out.getvalue(), "random.xlsx", registry, catalogue, options)
    assert parsed.entries or parsed.errors


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), name=st.sampled_from(["r.csv", "r.xlsx", "r.xls"]))
def test_random_bytes_are_reported_never_raise(reference, data, name):
    registry, catalogue, options = reference
    parsed = indicator_import.parse_indicator_file(data, name, registry, catalogue, options)
    assert parsed.entries or parsed.errors


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), header=st.sampled_from(["Xã;Năm;Chỉ tiêu;Giá trị;Tử số;Mẫu số\n",
                                                           "STT,Tên xã,Tổng số hộ,Hộ nghèo,Tỷ lệ (%)\n", ""]))
def test_random_csv_text_is_reported_never_raises(reference, text, header):
    registry, catalogue, options = reference
    data = (header + text).encode("utf-8", errors="surrogatepass")
    parsed = indicator_import.parse_indicator_file(data, "r.csv", registry, catalogue, options)
    assert parsed.entries or parsed.errors


def test_cli_unknown_column_role_is_an_error(fresh_app, tmp_path):
    path = write(tmp_path, "x.csv", "Xã;Người nghèo\r\nLìa;12,5\r\n".encode())
    result = fresh_app.test_cli_runner().invoke(args=["import-indicators", path, "--year", "2021", "--source",
                                                      SOURCE, "--column", "B=poverty"])
    assert result.exit_code != 0 and "unknown role 'poverty'" in result.output
