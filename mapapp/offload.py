"""Run the map exports in separate processes, so they never stall the map and the API.

A PNG/PDF/SVG export renders with matplotlib for 0.3-1 s, mostly in C code that holds
Python's global lock: served in the same process as the API, every request that
arrives meanwhile waits (measured: API p95 from ~40 ms to ~1 s under 50 users). The
production entry point (:mod:`mapapp.wsgi`) therefore wraps the app in
:class:`ExportOffload`: ``GET /export.*`` requests (and the Word report and fact
sheets, ``/report.docx``, ``/sheets.pdf``, ``/communes/<code>/sheet.pdf``) are handed, whole (the same
environ: cookies, query string, client address), to a pool of worker processes that
each run the same app — the same access rules, CSRF, headers — and the answer is sent
back unchanged. Everything else is served in the server's own process.

Workers are started with ``spawn`` (never ``fork`` from a threaded server) and run at a
lower CPU priority (``nice`` +10): when the machine is busy the map and the API go
first and an export waits a little longer. Each worker watches its server and exits
when it is gone, however it stopped (:func:`_exit_with_parent`). If the pool breaks (a worker killed), it is
rebuilt and the request is served in process.

A server thread waits while its export renders; so that exports can never take every
thread, at most ``max_pending`` (``EXPORT_MAX_PENDING``, default 12) exports are waited
for at once: one more answers 503 "busy, try again in a few seconds" at once.
"""
from __future__ import annotations

import atexit
import io
import logging
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

log = logging.getLogger(__name__)

OFFLOADED_PREFIXES = ("/export.", "/report.", "/sheets.")
OFFLOADED_SUFFIXES = ("/sheet.pdf",)  # /communes/<code>/sheet.pdf
TIMEOUT_S = 300
WORKER_NICE = 10
DEFAULT_MAX_PENDING = 12
BUSY_PAGE = ("<!DOCTYPE html><html lang=\"vi\"><meta charset=\"utf-8\"><title>503</title>"
             "<p>Máy chủ đang bận xuất nhiều bản đồ. Hãy thử lại sau vài giây.</p>"
             "<p lang=\"en\">The server is busy with other map exports: try again in a few seconds.</p></html>")
_APP = None
_LIVE: list = []  # the offloads of this process, whose workers a SIGTERM/SIGINT stops


def _exit_with_parent() -> None:
    """In a worker process: a daemon thread that ends the process as soon as the server is gone.

    ``multiprocessing.parent_process().join()`` waits on the parent's sentinel (a pipe on
    Unix, a process handle on Windows): it returns however the server stopped — SIGTERM,
    SIGINT or ``kill -9`` — so no worker is left running (≈170 MB each) without its server.
    """
    from multiprocessing import parent_process

    parent = parent_process()
    if parent is None:  # pragma: no cover - not started by multiprocessing
        return

    def watch():
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="mapapp-parent-watch", daemon=True).start()


def _init_worker(config: dict | None, secret_key: str) -> None:
    """In a worker process: build the same app (no seeding: the server did it); exit with the server."""
    global _APP
    _exit_with_parent()
    from mapapp import create_app


    try:
        os.nice(WORKER_NICE)
    except OSError:  # pragma: no cover - not allowed here: same priority
        pass
    settings = dict(config) if config is not None else None
    if settings is not None:
        settings["SEED_ON_START"] = False
    _APP = create_app(settings)
    _APP.config["SECRET_KEY"] = secret_key  # the server's key: its session cookies stay valid


def _ping() -> bool:
    return _APP is not None


def _handle(environ: dict) -> tuple[str, list[tuple[str, str]], bytes]:
    """In a worker process: answer one request with the app; return status, headers and body."""
    environ = dict(environ)
    environ.update({"wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
                    "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False})
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, list(headers)
        return lambda data: None

    result = _APP(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    return captured["status"], captured["headers"], body


def _portable(environ: dict) -> dict:
    """The picklable part of a WSGI environ (CGI variables and headers)."""
    keep = {}
    for key, value in environ.items():
        if isinstance(value, str) and (key.isupper() or key == "wsgi.url_scheme"):
            keep[key] = value
    return keep


class ExportOffload:
    """WSGI middleware: ``GET``/``HEAD`` of exports, reports and sheets answered by a pool of worker processes."""

    def __init__(self, app, processes: int, config: dict | None = None, max_pending: int | None = None):
        self.app = app
        self.processes = processes
        self.config = config
        self.max_pending = max_pending or int(app.config.get("EXPORT_MAX_PENDING", DEFAULT_MAX_PENDING))
        self._slots = threading.BoundedSemaphore(self.max_pending)
        self._lock = threading.Lock()
        self.pool = self._new_pool()
        _LIVE.append(self)
        atexit.register(self.close)
        for future in [self.pool.submit(_ping) for _ in range(processes)]:  # start the workers now
            future.add_done_callback(lambda f: f.exception())

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.processes, mp_context=get_context("spawn"),
                                   initializer=_init_worker,
                                   initargs=(self.config, self.app.config["SECRET_KEY"]))

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and \
                (path.startswith(OFFLOADED_PREFIXES) or path.endswith(OFFLOADED_SUFFIXES)):
            if not self._slots.acquire(blocking=False):
                return self._busy(environ, start_response)
            pool = self.pool
            try:
                status, headers, body = pool.submit(_handle, _portable(environ)).result(timeout=TIMEOUT_S)
            except BrokenProcessPool:
                log.error("export worker pool broke; rebuilding it and serving this export in process")
                with self._lock:
                    if self.pool is pool:
                        self.pool = self._new_pool()
                return self.app(environ, start_response)
            finally:
                self._slots.release()
            start_response(status, headers)
            return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
        return self.app(environ, start_response)

    def _busy(self, environ, start_response):
        """503 with Retry-After, through the app's response processing (security headers)."""
        with self.app.request_context(environ):
            response = self.app.response_class(BUSY_PAGE, status=503, mimetype="text/html")
            response.headers["Retry-After"] = "5"
            response.headers["Cache-Control"] = "no-store"
            response = self.app.process_response(response)
        return response(environ, start_response)

    def stop_workers(self) -> None:
        """End the worker processes now (on SIGTERM/SIGINT of the server), busy or not."""
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            process.terminate()

    def close(self) -> None:
        """Stop the workers (also at interpreter exit; after ``kill -9`` they stop by themselves)."""
        if self in _LIVE:
            _LIVE.remove(self)
        self.pool.shutdown(wait=True, cancel_futures=True)


def default_export_processes() -> int:
    """Half the CPUs, at least two (they run at a lower priority: idle CPU time only, when busy)."""
    return max(2, (os.cpu_count() or 2) // 2)


def build(config: dict | None = None, export_processes: int | None = None):
    """The app as a production server runs it: ``create_app(config)``, its pages compiled and its
    default page rendered before the first request (:func:`mapapp.query.prewarm.warm_pages`),
    exports in worker processes.

    ``export_processes``: else ``MAPAPP_EXPORT_PROCESSES``, else the app's ``EXPORT_PROCESSES``,
    else :func:`default_export_processes`; 0 renders exports in the server process.
    """
    from mapapp import create_app

    flask_app = create_app(config)
    if flask_app.config["PREWARM"] and not flask_app.config.get("MISSING_INPUTS"):
        from mapapp.query.prewarm import warm_pages

        warm_pages(flask_app)  # not for a command line's app: only a server has a first request to wait for
    if export_processes is None:
        configured = os.environ.get("MAPAPP_EXPORT_PROCESSES") or flask_app.config.get("EXPORT_PROCESSES")
        export_processes = int(configured) if configured not in (None, "") else default_export_processes()
    if export_processes <= 0:
        return flask_app
    _exit_on_sigterm()
    return ExportOffload(flask_app, export_processes, config)


def _exit_on_sigterm() -> None:
    """On SIGTERM or SIGINT, stop the workers first, then exit as the signal would have.

    Without this the interpreter's exit waits for the pool, which waits for busy (or still
    starting) workers, which wait for nothing: the server would hang until they finish.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    defaults = {signal.SIGTERM: (signal.SIG_DFL, None), signal.SIGINT: (signal.default_int_handler,)}
    for signum, untouched in defaults.items():
        if signal.getsignal(signum) in untouched:
            signal.signal(signum, _stop_and_exit)


def _stop_and_exit(signum, _frame) -> None:
    for offload in list(_LIVE):
        offload.stop_workers()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    sys.exit(128 + signum)
