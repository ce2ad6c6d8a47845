"""The WSGI entry point for a production server: ``waitress-serve mapapp.wsgi:app`` (see ``bin/serve-network``).

Configuration comes from ``instance/config.py`` and the ``MAPAPP_*`` environment
variables, as for ``flask --app mapapp``. Map exports (``/export.*``) are rendered in
``EXPORT_PROCESSES`` worker processes (:mod:`mapapp.offload`; environment
``MAPAPP_EXPORT_PROCESSES``; default: half the CPUs, at least 2; 0 renders them in
the server process) so that they never stall the map and the API.
"""
from mapapp.offload import build

app = build()
