"""``python -m mapapp``: the app's command line on any OS (Windows offices too, where ``bin/*`` does not run).

``python -m mapapp serve [--host --port --threads]`` serves the app with waitress, a
production WSGI server (what ``bin/serve`` runs); every other command is the Flask
command line of the app (``python -m mapapp init-db``, ``import-indicators FILE``...,
the same as ``flask --app mapapp ...``). ``flask --app mapapp run`` stays for development.
"""
from __future__ import annotations

import click
from flask.cli import FlaskGroup


def _create_app():
    from mapapp import create_app

    return create_app()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Địa chỉ nghe / address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=16, show_default=True, type=int, help="Luồng phục vụ / serving threads.")
def serve_command(host: str, port: int, threads: int) -> None:
    """Phục vụ bản đồ bằng waitress / serve the app with waitress (exports in worker processes)."""
    import waitress

    from mapapp.offload import build

    app = build()
    click.echo(f"mapapp: http://{host}:{port}/ (waitress, {threads} threads; Ctrl+C to stop)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="mapapp", connection_limit=500,
                   channel_timeout=60)


cli = FlaskGroup(create_app=_create_app, help=__doc__.split("\n\n")[1])
cli.add_command(serve_command)

if __name__ == "__main__":
    cli(prog_name="python -m mapapp")
