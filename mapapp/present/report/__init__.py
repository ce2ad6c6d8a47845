"""The Word report of a map view: the DOCX builder (:mod:`.document`) and its sentences (:mod:`.narrative`)."""
from mapapp.present.report.document import MIMETYPE, Report, build_report

__all__ = ["MIMETYPE", "Report", "build_report"]
