"""User-facing text in Vietnamese (default) and English."""
from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"vi": "Bản đồ xã huyện Hướng Hóa", "en": "Hướng Hóa commune map"},
    "area_district": {"vi": "Huyện Hướng Hóa", "en": "Hướng Hóa district"},
    "area_after_2025": {"vi": "Khu vực huyện Hướng Hóa cũ ({n} xã)",
                        "en": "Area of the former Hướng Hóa district ({n} communes)"},
    "indicator": {"vi": "Chỉ tiêu", "en": "Indicator"},
    "year": {"vi": "Năm", "en": "Year"},
    "play": {"vi": "Chạy qua các năm", "en": "Play through the years"},
    "pause": {"vi": "Dừng", "en": "Pause"},
    "method": {"vi": "Cách phân lớp", "en": "Classification"},
    "classes": {"vi": "Số lớp", "en": "Classes"},
    "quantiles": {"vi": "Phân vị (số xã bằng nhau)", "en": "Quantiles"},
    "natural_breaks": {"vi": "Ngắt tự nhiên (Jenks)", "en": "Natural breaks (Jenks)"},
    "equal_interval": {"vi": "Khoảng đều", "en": "Equal interval"},
    "projects_layer": {"vi": "Dự án NGO/tài trợ", "en": "NGO/donor projects"},
    "legend": {"vi": "Chú giải", "en": "Legend"},
    "source": {"vi": "Nguồn", "en": "Source"},
    "illustrative_tag": {"vi": "minh họa", "en": "illustrative"},
    "illustrative_banner": {
        "vi": "DỮ LIỆU MINH HỌA — không phải số liệu chính thức. Các số liệu đánh dấu “minh họa” được sinh "
              "ngẫu nhiên để trình diễn; hãy nhập số liệu thật của huyện để thay thế.",
        "en": "ILLUSTRATIVE DATA — not official figures. Values marked “illustrative” are generated for "
              "demonstration; import the district's real figures to replace them.",
    },
    "no_data": {"vi": "Không có số liệu", "en": "No data"},
    "households": {"vi": "hộ", "en": "households"},
    "of": {"vi": "trên", "en": "of"},
    "donor": {"vi": "Nhà tài trợ", "en": "Donor"},
    "sector": {"vi": "Lĩnh vực", "en": "Sector"},
    "years": {"vi": "Thời gian", "en": "Years"},
    "budget": {"vi": "Kinh phí", "en": "Budget"},
    "communes": {"vi": "Xã", "en": "Communes"},
    "villages": {"vi": "Thôn", "en": "Villages"},
    "projects_district_wide": {"vi": "Dự án cấp huyện (không rõ xã)", "en": "District-wide projects (communes not given)"},
    "no_projects": {"vi": "Không có dự án nào đang thực hiện trong năm này.", "en": "No project active in this year."},
    "language": {"vi": "English", "en": "Tiếng Việt"},
    "boundaries": {"vi": "Ranh giới", "en": "Boundaries"},
    "units_count": {"vi": "{n} đơn vị hành chính", "en": "{n} administrative units"},
    "loading": {"vi": "Đang tải…", "en": "Loading…"},
    "error": {"vi": "Lỗi", "en": "Error"},
    "export_map": {"vi": "Xuất bản đồ", "en": "Export map"},
    "export_help": {"vi": "Tải ảnh bản đồ đang xem để in hoặc dán vào báo cáo (A4, 300 dpi)",
                    "en": "Download the map you see for print or a report (A4, 300 dpi)"},
    "data_missing_title": {"vi": "Chưa có dữ liệu", "en": "Data is missing"},
}


def text(key: str, lang: str = "vi") -> str:
    """The string ``key`` in ``lang``, falling back to Vietnamese."""
    entry = STRINGS[key]
    return entry.get(lang) or entry["vi"]


def bundle(lang: str) -> dict[str, str]:
    """All strings in one language (handed to the page's script)."""
    return {key: text(key, lang) for key in STRINGS}
