"""User-facing text in Vietnamese (default) and English."""
from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"vi": "Bản đồ xã huyện Hướng Hóa", "en": "Hướng Hóa commune map"},
    "within": {"vi": "Thuộc", "en": "Within"},
    "previous_page": {"vi": "Trang trước", "en": "Previous"},
    "next_page": {"vi": "Trang sau", "en": "Next"},
    "rows_shown": {"vi": "Dòng {first}–{last} / {total}", "en": "Rows {first}–{last} of {total}"},
    "ranking_top": {"vi": "{n} dòng đầu / {total} — xem bảng đầy đủ", "en": "first {n} of {total} — see the full table"},
    "illustrative_banner_area": {
        "vi": "DỮ LIỆU MINH HỌA — không phải số liệu chính thức. Các số liệu đánh dấu “minh họa” được sinh "
              "ngẫu nhiên để trình diễn; hãy nhập số liệu thật để thay thế.",
        "en": "ILLUSTRATIVE DATA — not official figures. Values marked “illustrative” are generated for "
              "demonstration; import the real figures to replace them.",
    },
    "app_title_area": {"vi": "Bản đồ xã — {area}", "en": "Commune map — {area}"},
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
    "import_data": {"vi": "Nhập dữ liệu", "en": "Import data"},
    "export_map": {"vi": "Xuất bản đồ", "en": "Export map"},
    "export_help": {"vi": "Tải ảnh bản đồ đang xem để in hoặc dán vào báo cáo (A4, 300 dpi)",
                    "en": "Download the map you see for print or a report (A4, 300 dpi)"},
    "data_missing_title": {"vi": "Chưa có dữ liệu", "en": "Data is missing"},
    # --- planner tools: common geography ------------------------------------------------
    "units_as_data_year": {"vi": "theo năm số liệu", "en": "as of the data year"},
    "units_as_year": {"vi": "theo năm {year}", "en": "as of {year}"},
    "boundaries_of": {"vi": "ranh giới {year}: {n} đơn vị", "en": "{year} boundaries: {n} units"},
    "built_from": {"vi": "Tổng hợp từ", "en": "Built from"},
    "profile_link": {"vi": "Hồ sơ xã", "en": "Commune profile"},
    "reason_missing_denominator": {
        "vi": "Không có số liệu: thiếu tử số hoặc mẫu số của {units} — không thể tính lại tỷ lệ (không lấy trung bình các tỷ lệ)",
        "en": "No data: numerator or denominator missing for {units} — the rate cannot be recomputed (rates are never averaged)"},
    "reason_missing_value": {"vi": "Không có số liệu: thiếu số liệu của {units}",
                             "en": "No data: no value for {units}"},
    "reason_missing_ratio_input": {"vi": "Không có số liệu: thiếu dân số hoặc diện tích của {units}",
                                   "en": "No data: population or area missing for {units}"},
    "reason_not_aggregable": {"vi": "Không có số liệu: chỉ tiêu này không cộng gộp được qua sáp nhập",
                              "en": "No data: this indicator cannot be aggregated across mergers"},
    "reason_zero_denominator": {"vi": "Không có số liệu: mẫu số bằng 0", "en": "No data: the denominator is zero"},
    "reason_no_predecessor": {"vi": "Không có số liệu: không có đơn vị tiền thân trong năm này",
                              "en": "No data: no predecessor unit in that year"},
    "reason_no_base": {"vi": "Không có số liệu năm {year}", "en": "No data for {year}"},
    # --- change map ------------------------------------------------------------------------
    "compare_with": {"vi": "So với năm", "en": "Change since"},
    "no_compare": {"vi": "— (không so sánh)", "en": "— (no comparison)"},
    "change": {"vi": "Thay đổi", "en": "Change"},
    "change_title": {"vi": "Thay đổi {name} {base} → {year}", "en": "Change in {name} {base} → {year}"},
    "percentage_points": {"vi": "điểm phần trăm", "en": "percentage points"},
    "pp": {"vi": "điểm %", "en": "pp"},
    # --- ranking ---------------------------------------------------------------------------
    "ranking": {"vi": "Xếp hạng", "en": "Ranking"},
    "ranking_title": {"vi": "Xếp hạng xã: {name}, {year}", "en": "Commune ranking: {name}, {year}"},
    "rank": {"vi": "Hạng", "en": "Rank"},
    "code": {"vi": "Mã", "en": "Code"},
    "commune": {"vi": "Xã", "en": "Commune"},
    "value": {"vi": "Giá trị", "en": "Value"},
    "numerator": {"vi": "Tử số", "en": "Numerator"},
    "denominator": {"vi": "Mẫu số", "en": "Denominator"},
    "base_value": {"vi": "Giá trị năm {year}", "en": "Value in {year}"},
    "illustrative": {"vi": "Minh họa", "en": "Illustrative"},
    "yes": {"vi": "có", "en": "yes"},
    "no": {"vi": "không", "en": "no"},
    "no_data_reason": {"vi": "Lý do không có số liệu", "en": "Why no data"},
    "source_url": {"vi": "Liên kết nguồn", "en": "Source link"},
    "threshold": {"vi": "Ngưỡng", "en": "Threshold"},
    "threshold_min": {"vi": "từ (≥)", "en": "at least (≥)"},
    "threshold_max": {"vi": "đến (≤)", "en": "at most (≤)"},
    "threshold_help": {"vi": "Lọc các xã theo giá trị năm đang xem, ví dụ tỷ lệ hộ nghèo ≥ 30; các xã thỏa điều kiện được tô viền trên bản đồ",
                       "en": "Filter communes by the year's value, e.g. poverty rate ≥ 30; matching communes are outlined on the map"},
    "matching": {"vi": "{n}/{total} xã thỏa điều kiện", "en": "{n} of {total} communes match"},
    "order": {"vi": "Thứ tự", "en": "Order"},
    "order_desc": {"vi": "giảm dần", "en": "descending"},
    "order_asc": {"vi": "tăng dần", "en": "ascending"},
    "sort_by": {"vi": "Sắp xếp theo", "en": "Sort by"},
    "rank_note_desc": {"vi": "Hạng 1 = cao nhất", "en": "Rank 1 = highest"},
    "rank_note_asc": {"vi": "Hạng 1 = thấp nhất", "en": "Rank 1 = lowest"},
    "download": {"vi": "Tải về", "en": "Download"},
    "apply": {"vi": "Áp dụng", "en": "Apply"},
    "show_on_map": {"vi": "Xem trên bản đồ", "en": "Show on the map"},
    "back_to_map": {"vi": "← Bản đồ", "en": "← Map"},
    "full_ranking": {"vi": "Bảng đầy đủ", "en": "Full table"},
    "sheet_ranking": {"vi": "Xếp hạng", "en": "Ranking"},
    "sheet_about": {"vi": "Thông tin", "en": "About"},
    "generated_from": {"vi": "Tạo từ", "en": "Made from"},
    "filters": {"vi": "Bộ lọc", "en": "Filters"},
    "none": {"vi": "không", "en": "none"},
    # --- profile ---------------------------------------------------------------------------
    "profile_title": {"vi": "Hồ sơ {name}", "en": "Profile of {name}"},
    "valid": {"vi": "Hiệu lực", "en": "Valid"},
    "valid_from_start": {"vi": "trước 2016", "en": "before 2016"},
    "valid_open": {"vi": "nay", "en": "today"},
    "established_by": {"vi": "Thành lập theo", "en": "Established by"},
    "ended_by": {"vi": "Kết thúc theo", "en": "Ended by"},
    "predecessors": {"vi": "Đơn vị tiền thân", "en": "Predecessors"},
    "successor": {"vi": "Đơn vị kế tục", "en": "Successor"},
    "lineage_note": {"vi": "Các năm trước khi xã được thành lập được tổng hợp từ các đơn vị tiền thân (điểm rỗng trên biểu đồ).",
                     "en": "Years before the commune existed are built from its predecessors (hollow points on the charts)."},
    "merged_into": {"vi": "đã sáp nhập vào {name}", "en": "merged into {name}"},
    "indicators_over_years": {"vi": "Các chỉ tiêu qua các năm", "en": "Indicators over the years"},
    "projects_in_commune": {"vi": "Dự án tại xã", "en": "Projects in the commune"},
    "sources": {"vi": "Nguồn số liệu", "en": "Sources"},
    "no_values": {"vi": "Chưa có số liệu cho chỉ tiêu này.", "en": "No values for this indicator."},
    "aggregated_mark": {"vi": "tổng hợp", "en": "aggregated"},
    "unknown_unit": {"vi": "Không tìm thấy đơn vị", "en": "Unit not found"},
    "boundary_change": {"vi": "thay đổi ranh giới", "en": "boundary change"},
    # --- district ----------------------------------------------------------------------------
    "district_title": {"vi": "Số liệu toàn huyện Hướng Hóa", "en": "Hướng Hóa district figures"},
    "district_summary": {"vi": "Toàn huyện (số liệu thật)", "en": "District (real figures)"},
    "district_poverty": {"vi": "Tỷ lệ hộ nghèo toàn huyện", "en": "District poverty rate"},
    "district_series": {"vi": "Chuỗi số liệu cấp huyện", "en": "District series"},
    "report_161": {"vi": "Số liệu báo cáo sơ kết Đề án 161 (2016-2020)", "en": "Figures of the Đề án 161 report (2016-2020)"},
    "conflict": {"vi": "Các nguồn không thống nhất", "en": "Sources disagree"},
    "conflict_note": {"vi": "Các nguồn cho số liệu khác nhau; cả hai đều được hiển thị.",
                      "en": "The sources give different figures; both are shown."},
    "quote": {"vi": "Trích dẫn", "en": "Quote"},
    "period": {"vi": "Thời kỳ", "en": "Period"},
    "unit": {"vi": "Đơn vị tính", "en": "Unit"},
    "scope": {"vi": "Phạm vi", "en": "Scope"},
    "district_more": {"vi": "Tất cả số liệu cấp huyện", "en": "All district figures"},
    # --- side by side --------------------------------------------------------------------------
    "side_by_side": {"vi": "Hai năm cạnh nhau", "en": "Two years side by side"},
    "year2": {"vi": "Năm thứ hai", "en": "Second year"},
    "shared_legend": {"vi": "Một chú giải chung cho cả hai bản đồ", "en": "One legend for both maps"},
}


def text(key: str, lang: str = "vi") -> str:
    """The string ``key`` in ``lang``, falling back to Vietnamese."""
    entry = STRINGS[key]
    return entry.get(lang) or entry["vi"]


def bundle(lang: str, area: str | None = None) -> dict[str, str]:
    """All strings in one language (handed to the page's script).

    ``area`` names the configured atlas's area (a province, a country): titles then
    say it instead of the district.
    """
    strings = {key: text(key, lang) for key in STRINGS}
    if area:
        strings["app_title"] = text("app_title_area", lang).format(area=area)
        strings["area_district"] = area
        strings["illustrative_banner"] = text("illustrative_banner_area", lang)
    return strings
