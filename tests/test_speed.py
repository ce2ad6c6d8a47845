"""Speed machinery, really exercised: versioned immutable assets, the module graph, the first view
inline in the page, answers precomputed into the store, and ``python -m mapapp``."""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import sqlalchemy as sa
from conftest import REPO_ROOT, SHARED_DIR, make_app, make_server_app, needs_shared
from import_builders import SOURCE, poverty_annex_xlsx, poverty_rows, units_of

from mapapp.present.precompute import view_args
from mapapp.query import read as query
from mapapp.query.answers import answer_generation
from mapapp.store import answers as stored
from mapapp.store import db
from mapapp.web.versioned import imports_of, module_graph

pytestmark = needs_shared


def page_urls(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


@pytest.fixture()
def unbundled(app):
    """The session app with its map modules loaded one by one (pages asked with a query string of their own)."""
    app.config["BUNDLE_MODULES"] = False
    yield app
    app.config["BUNDLE_MODULES"] = True


def test_map_page_preloads_every_module_under_one_immutable_version(client, unbundled):
    app = unbundled
    html = client.get("/?method=equal_interval").get_data(as_text=True)
    entry = page_urls(html, r'<script type="module" src="([^"]+)"')[0]
    preloads = page_urls(html, r'<link rel="modulepreload" href="([^"]+)"')
    version = entry.split("/")[2]
    expected = module_graph(app.static_folder, version, "map/main.js")
    assert {"map/state.js", "map/data.js", "packs.js", "html.js", "canvas_units.js"} <= set(expected)
    assert preloads == [f"/static-v/{version}/{name}" for name in expected]
    for url in [entry] + preloads + page_urls(html, r'<link rel="stylesheet" href="(/static-v/[^"]+)"'):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "immutable" in response.headers["Cache-Control"] and "max-age=31536000" in response.headers[
            "Cache-Control"], url
    stale = client.get(entry.replace(version, "0" * 12))
    assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]
    assert "no-cache" in stale.headers["Cache-Control"]
    assert client.get(f"/static-v/{version}/../mapapp/__init__.py").status_code == 404
    assert client.get(f"/static-v/{version}/map/nothing.js").status_code == 404


def test_module_graph_follows_every_import_form_and_ignores_comments(tmp_path):
    (tmp_path / "map").mkdir()
    (tmp_path / "map" / "main.js").write_text(
        'import { a, b as c } from "./a.js";\nimport "./side.js";\nexport * from "../shared.js";\n'
        '/* import { x } from "./commented.js"; */\n// import y from "./line.js";\n', encoding="utf-8")
    (tmp_path / "map" / "a.js").write_text('import {\n  s\n} from "../shared.js";\nimport d from "./deep.js";\n')
    for name in ("map/side.js", "shared.js", "map/deep.js"):
        (tmp_path / name).write_text("export const z = 1;\n")
    assert module_graph(str(tmp_path), "v1", "map/main.js") == ("map/a.js", "map/side.js", "shared.js", "map/deep.js")
    assert imports_of('const u = "http://x/y"; import q from "./q.js";') == ["./q.js"]


def test_map_page_carries_its_first_values_and_small_geometry(client):
    html = client.get("/?indicator=near_poverty_rate&year=2018&lang=en").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="mapapp-first-values">(.*?)</script>', html, re.S)
    api = client.get("/api/values?indicator=near_poverty_rate&year=2018&lang=en&format=columns").get_json()
    assert json.loads(block.group(1)) == api and api["year"] == 2018
    geometry = re.search(r'<script type="application/json" id="mapapp-first-geometry" data-key="([^"]+)">(.*?)'
                         r'</script>', html, re.S)
    version, level = geometry.group(1).split("/")
    with client.application.app_context():
        _digest, body = query.pack(db.get_engine().connect(), version, int(level))
    assert json.loads(geometry.group(2)) == json.loads(gzip.decompress(body))
    assert "/api/values?" not in html  # nothing left to preload: the data is in the page


def _generation_and_keys(app) -> tuple[str, set[str]]:
    with app.app_context(), db.get_engine().connect() as conn:
        generation = answer_generation(conn)
        return generation, stored.stored_keys(conn, generation, "values-columns")


def test_every_years_values_are_stored_after_seed_import_and_undo(tmp_path):
    app = make_app(tmp_path, PREWARM=True)  # what a server does at start: seed, then precompute
    with app.app_context(), db.get_engine().connect() as conn:
        ids = query.catalogue(conn).keys()
    every = {f"indicator={a['indicator']}&year={a['year']}" + ("&lang=en" if a["lang"] == "en" else "")
             + (f"&units_year={a['units_year']}" if a["units_year"] else "") for a in view_args(app.config, ids)}
    _generation, keys = _generation_and_keys(app)
    assert keys == every and len(every) == len(ids) * 2 * (10 + 9)  # indicators × languages × layouts of years
    assert "indicator=poverty_rate&year=2016&units_year=2025" in keys and "indicator=area&year=2024&lang=en" in keys

    xlsx = tmp_path / "pl.xlsx"
    xlsx.write_bytes(poverty_annex_xlsx(poverty_rows(units_of(app, 2021)), year=2021))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import-indicators", str(xlsx), "--source", SOURCE]).exit_code == 0
    after_import, keys = _generation_and_keys(app)
    defaults = {f"indicator=poverty_rate&year={y}" for y in range(2016, 2026)}
    assert defaults <= keys and "indicator=poverty_rate&year=2021&units_year=2025" in keys
    assert runner.invoke(args=["undo-import", "1"]).exit_code == 0
    after_undo, keys = _generation_and_keys(app)
    assert after_undo != after_import and defaults <= keys
    app.extensions["mapapp_prewarm"].join(timeout=120)  # its background page render ends with the test


def test_a_restarted_app_answers_from_the_store_without_computing(tmp_path):
    first = make_app(tmp_path)
    from mapapp.present.precompute import precompute

    assert precompute(first, every_indicator=False) == len(view_args(first.config, ["poverty_rate"]))
    assert precompute(first, every_indicator=False) == 0  # nothing missing: nothing computed again
    generation, _keys = _generation_and_keys(first)
    key = "indicator=poverty_rate&year=2019"
    with first.app_context(), db.get_engine().begin() as conn:
        kept = json.loads(stored.stored_answer(conn, generation, "values-columns", key))
        kept["title"] = "from the store"  # a mark only a read of the stored row can show
        stored.store_answer(conn, generation, "values-columns", key, json.dumps(kept))
    restarted = make_app(tmp_path)  # a new process's app on the same store: its answer cache is empty
    body = restarted.test_client().get("/api/values?indicator=poverty_rate&year=2019&format=columns").get_json()
    assert body["title"] == "from the store"
    other = restarted.test_client().get("/api/values?indicator=poverty_rate&year=2019&format=columns&k=4").get_json()
    assert other["title"] != "from the store"  # not precomputed: computed on request



def test_answers_the_older_code_stored_are_neither_served_nor_kept(tmp_path):
    """A server upgraded in place starts on the same data: what the code before it stored
    (same data generation, another code version) is computed again, then dropped."""
    from mapapp.present.precompute import precompute

    first = make_app(tmp_path)
    key = "indicator=poverty_rate&year=2019"
    with first.app_context(), db.get_engine().begin() as conn:
        data = db.data_generation(conn)
        older_code = answer_generation(conn, data).rsplit(".", 1)[0] + "." + "0" * 12
        for generation in (data, older_code):  # as the code before code versions stored it, and as an older one
            stored.store_answer(conn, generation, "values-columns", key, json.dumps({"title": "from older code"}))
    upgraded = make_app(tmp_path)
    body = upgraded.test_client().get(f"/api/values?{key}&format=columns").get_json()
    assert body["title"] != "from older code" and body["count"] == 22
    assert precompute(upgraded) > 0
    with upgraded.app_context(), db.get_engine().connect() as conn:
        assert stored.count(conn, older_code) == stored.count(conn, data) == 0
        assert json.loads(stored.stored_answer(conn, answer_generation(conn), "values-columns", key))["title"] == \
            body["title"]


def test_a_restarted_app_reads_inner_points_from_disk(tmp_path, monkeypatch):
    """Circle anchors and label points are one computation, kept beside the packs: a restart computes none."""
    from mapapp.geo import label_points
    from mapapp.query import anchors as anchors_module

    monkeypatch.setattr(anchors_module, "_ANCHORS", {})  # computed by no earlier app of this process
    monkeypatch.setattr(label_points, "_MEMORY", {})
    first = make_app(tmp_path)
    with first.app_context():
        version = query.versions(db.connection())[0]
        computed = anchors_module.anchors(db.connection(), version.id, version.checksum)
    assert len(computed) == version.unit_count
    assert list((tmp_path / "cache").glob("points-*.json.gz"))
    monkeypatch.setattr(anchors_module, "_ANCHORS", {})  # a new process: nothing in memory
    monkeypatch.setattr(label_points, "_MEMORY", {})
    monkeypatch.setattr(label_points, "label_points", lambda collection: pytest.fail("computed again"))
    restarted = make_app(tmp_path)
    with restarted.app_context():
        assert anchors_module.anchors(db.connection(), version.id, version.checksum) == computed

def test_stale_generations_are_dropped(tmp_path):
    app = make_app(tmp_path)
    with app.app_context(), db.get_engine().begin() as conn:
        stored.store_answer(conn, "old-generation", "values-columns", "indicator=x&year=1", "{}")
        assert stored.count(conn, "old-generation") == 1
    from mapapp.present.precompute import precompute

    precompute(app)
    with app.app_context(), db.get_engine().connect() as conn:
        assert stored.count(conn, "old-generation") == 0
        assert sa.inspect(conn).has_table("answers")


# --- python -m mapapp ---------------------------------------------------------------------

def _env(tmp_path) -> dict:
    env = dict(os.environ, MAPAPP_DATABASE_URL=f"sqlite:///{tmp_path}/mapapp.sqlite", MAPAPP_SHARED_DIR=str(SHARED_DIR),
               MAPAPP_EXPORT_PROCESSES="0", PYTHONPATH=str(REPO_ROOT))
    return env


def test_python_m_mapapp_help_lists_the_commands(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mapapp", "--help"], env=_env(tmp_path), cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for command in ("serve", "init-db", "import-indicators", "undo-import", "backup", "export-map", "run"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command


def test_python_m_mapapp_serve_serves_the_map(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "mapapp", "serve", "--port", str(port), "--threads", "4"],
                            env=_env(tmp_path), cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
                    html = response.read().decode()
                    assert response.status == 200 and response.headers["Server"] == "mapapp"
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.3)
        assert 'id="mapapp-first-values"' in html and "/bundle/map/main.js" in html
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_no_unix_only_calls_at_run_time():
    pattern = re.compile(r"os\.fork|SIGKILL|^import resource|^import fcntl|os\.setsid|os\.killpg|os\.getuid", re.M)
    offenders = [str(p) for p in (REPO_ROOT / "mapapp").rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_a_large_first_pack_is_preloaded_not_inlined(client, monkeypatch):
    from mapapp.web import views

    monkeypatch.setattr(views, "INLINE_GEOMETRY_MAX_GZIP", 0)
    html = client.get("/?year=2021&k=6").get_data(as_text=True)  # a page of its own (pages are cached per query)
    assert 'id="mapapp-first-geometry"' not in html and 'id="mapapp-first-values"' not in html
    assert re.search(r'<link rel="preload" as="fetch" crossorigin="anonymous" href="/api/geometry\?version=[^"]+'
                     r'&amp;level=0&amp;v=', html)
    # ... and so are its values, the very request the page script makes (a short page paints its frame sooner)
    assert re.search(r'<link rel="preload" as="fetch" crossorigin="anonymous" href="/api/values\?indicator=[^"]+'
                     r'&amp;year=2021[^"]*&amp;format=columns"', html)


def test_the_map_page_is_rendered_once_per_data_and_revalidated(fresh_app, tmp_path):
    client = fresh_app.test_client()
    first = client.get("/?year=2021")
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    assert client.get("/?year=2021", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/?year=2022", headers={"If-None-Match": etag}).status_code == 200
    xlsx = tmp_path / "pl.xlsx"
    xlsx.write_bytes(poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021), seed=5), year=2021))
    assert fresh_app.test_cli_runner().invoke(args=["import-indicators", str(xlsx), "--source", SOURCE]).exit_code == 0
    changed = client.get("/?year=2021", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag  # new data: a new page
    assert client.get("/?year=abc").status_code == 200 and "abc" in client.get("/?year=abc").get_data(as_text=True)


def test_a_web_import_and_its_undo_leave_their_years_values_stored(fresh_app, editor_client):
    import io

    client = editor_client
    data = poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021), seed=3), year=2021)
    preview = client.post("/import/indicators", data={"file": (io.BytesIO(data), "pl.xlsx"), "source": SOURCE,
                                                      "csrf_token": client.csrf}, content_type="multipart/form-data")
    token = re.search(r'name="token" value="([0-9a-f]{32})"', preview.get_data(as_text=True)).group(1)
    before, _keys = _generation_and_keys(fresh_app)
    done = client.post("/import/indicators/confirm", data={"token": token, "source": SOURCE,
                                                           "csrf_token": client.csrf})
    assert done.status_code == 302
    generation, keys = _generation_and_keys(fresh_app)
    years = {f"indicator=poverty_rate&year={y}" for y in range(2016, 2026)}
    assert generation != before and years <= keys and "indicator=poverty_rate&year=2018&lang=en" in keys
    assert client.post("/import/1/undo", data={"csrf_token": client.csrf}).status_code == 200
    undone, keys = _generation_and_keys(fresh_app)
    assert undone != generation and years <= keys


# --- the module bundle --------------------------------------------------------------------

NODE = shutil.which("node")


def _modules(folder, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "package.json").write_text('{"type": "module"}')


GRAPH = {
    "shared.js": 'export const registry = { calls: [] };\nexport function note(x) { registry.calls.push(x); }\n'
                 'note("shared ran");\n',
    "map/a.js": 'import { note, registry as reg } from "../shared.js";\nimport * as b from "./b.js";\n'
                'export function hello(name) { note("a:" + name); return b.twice(name) + reg.calls.length; }\n',
    "map/b.js": 'import {\n  note\n} from "../shared.js";\nexport const twice = (s) => s + s;\nnote("b ran");\n'
                'export class K { v() { return 7; } }\n',
    "map/main.js": '/* import { nothing } from "./missing.js"; */\nimport { hello } from "./a.js";\n'
                   'import { K } from "./b.js";\nimport { registry } from "../shared.js";\n'
                   'console.log(hello("x"), new K().v(), JSON.stringify(registry.calls));\n',
}


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_bundle_runs_like_the_modules(tmp_path):
    from mapapp.web.bundle import bundle

    _modules(tmp_path, GRAPH)
    native = subprocess.run([NODE, "map/main.js"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    joined = bundle(str(tmp_path), "t1", "map/main.js")
    (tmp_path / "bundled.js").write_text(joined, encoding="utf-8")
    bundled = subprocess.run([NODE, "bundled.js"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert native.returncode == bundled.returncode == 0, native.stderr + bundled.stderr
    assert bundled.stdout == native.stdout == 'xx3 7 ["shared ran","b ran","a:x"]\n'
    assert "import " not in joined.replace("/* import { nothing }", "")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_map_pages_bundle_is_valid_javascript(app, tmp_path):
    from mapapp.web.bundle import bundle

    joined = bundle(app.static_folder, "t2", "map/main.js")
    assert joined is not None and "__mapapp_map_state_js" in joined
    (tmp_path / "b.mjs").write_text(joined, encoding="utf-8")
    assert subprocess.run([NODE, "--check", str(tmp_path / "b.mjs")], capture_output=True).returncode == 0


@pytest.mark.parametrize("change", [
    {"map/b.js": 'export let counter = 0;\n'},  # a reassignable export: bindings would not stay live
    {"map/b.js": 'export default function () {}\n'},
    {"map/b.js": 'const x = 1;\nexport { x };\n'},
    {"map/b.js": 'export const later = () => import("./a.js");\n'},
    {"map/b.js": 'import { hello } from "./a.js";\nexport const twice = hello;\n'},  # a circle
    {"map/a.js": 'import b from "./b.js";\nexport const hello = b;\n'},  # a default import
])
def test_forms_the_bundle_does_not_handle_leave_the_modules_as_they_are(tmp_path, change):
    from mapapp.web.bundle import bundle

    _modules(tmp_path, {**GRAPH, **change})
    assert bundle(str(tmp_path), "t3", "map/main.js") is None


def test_the_page_loads_one_bundle_or_preloads_every_module(app, client):
    html = client.get("/?year=2020").get_data(as_text=True)
    entry = page_urls(html, r'<script type="module" src="([^"]+)"')
    assert len(entry) == 1 and "/bundle/map/main.js" in entry[0] and "modulepreload" not in html
    response = client.get(entry[0])
    assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
    assert response.mimetype == "text/javascript"
    assert client.get(entry[0].replace("main.js", "nothing.js")).status_code == 404
    version = entry[0].split("/")[2]
    for outside in ("../../../mapapp/__init__.py", "..%2F..%2Fnode_modules%2Fleaflet%2Fdist%2Fleaflet.js",
                    "../../node_modules/leaflet/dist/leaflet.js"):
        assert client.get(f"/static-v/{version}/bundle/map/{outside}").status_code == 404, outside
    app.config["BUNDLE_MODULES"] = False
    try:
        unbundled = client.get("/?year=2020&k=4").get_data(as_text=True)
        assert "/map/main.js" in unbundled and "/bundle/" not in unbundled and "modulepreload" in unbundled
    finally:
        app.config["BUNDLE_MODULES"] = True


def test_a_stored_answer_is_sent_as_stored_gzip_and_equals_the_computed_one(tmp_path):
    from mapapp.present.precompute import precompute

    first = make_app(tmp_path)
    path = "/api/values?indicator=poverty_rate&year=2017&units_year=2025&format=columns"
    computed = first.test_client().get(path).get_json()
    precompute(first, every_indicator=False)
    restarted = make_app(tmp_path)
    client = restarted.test_client()
    sent = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert sent.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in sent.headers["Vary"]
    assert json.loads(gzip.decompress(sent.data)) == computed
    plain = client.get(path)  # a client without gzip gets the text
    assert "Content-Encoding" not in plain.headers and plain.get_json() == computed
    assert plain.headers["ETag"] == sent.headers["ETag"]
    assert client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": sent.headers["ETag"]}).status_code == 304


def test_the_bundle_never_reads_outside_the_static_folder(tmp_path):
    from mapapp.web.bundle import bundle

    static = tmp_path / "static"
    _modules(static, GRAPH)
    (tmp_path / "secret.js").write_text("export const key = 'not for the web';\n")
    assert bundle(str(static), "t4", "../secret.js") is None
    _modules(static, {"map/b.js": 'import { key } from "../../secret.js";\nexport const twice = key;\n'})
    assert bundle(str(static), "t5", "map/main.js") is None


def test_a_started_app_has_its_default_page_ready_before_anyone_asks(tmp_path):
    app = make_server_app(tmp_path, PREWARM=True)  # as a server starts: precompute, then its default page
    pages = app.extensions["mapapp_answers"]["map-page"].keys()  # before the background has run
    assert [key[3] for key in pages] == [""]  # "/": the page a leader opens, rendered once, kept
    response = app.test_client().get("/")
    assert response.status_code == 200 and 'id="map-frame"' in response.get_data(as_text=True)
    assert app.extensions["mapapp_answers"]["map-page"].keys() == pages  # answered from what was kept
    app.extensions["mapapp_prewarm"].join(timeout=120)


def test_a_started_app_compiles_no_template_on_a_request(tmp_path):
    """Every page's first request after a server's start renders from compiled templates (a
    compile is 0.1 s); a command line's app compiles none it does not use."""
    command_line = make_app(tmp_path / "cli", PREWARM=True)
    assert len(command_line.jinja_env.cache) == 0
    command_line.extensions["mapapp_prewarm"].join(timeout=120)
    app = make_server_app(tmp_path, PREWARM=True)
    app.extensions["mapapp_prewarm"].join(timeout=120)

    def compile_on_request(*args, **kwargs):
        raise AssertionError(f"a template compiled on a request: {args[1:3]}")

    app.jinja_env.compile = compile_on_request
    client = app.test_client()
    for path in ("/?indicator=poverty_rate&year=2018", "/compare?indicator=poverty_rate&year=2016&year2=2024",
                 "/ranking?indicator=poverty_rate&year=2018", "/login", "/no-such-page"):
        assert client.get(path).status_code in (200, 404), path
