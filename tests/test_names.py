"""Vietnamese name matching and sorting."""
import unicodedata

from mapapp.core.names import ascii_key, match_key, nfc, sort_key, strip_prefix


def test_nfd_and_nfc_match():
    assert match_key(unicodedata.normalize("NFD", "Xã Hướng Lộc")) == match_key("Hướng Lộc")


def test_old_and_new_tone_placement_match():
    assert match_key("Hướng Hoá") == match_key("Hướng Hóa")
    assert match_key("Thuỵ") == match_key("Thụy")
    assert match_key("Hoà") == match_key("Hòa")
    assert match_key("Hoà") != match_key("Hoa")


def test_prefixes_and_case_are_ignored():
    for spelling in ("Thị trấn Khe Sanh", "TT Khe Sanh", "tt. khe sanh", "KHE SANH", "Xã Khe Sanh"):
        assert match_key(spelling) == "khe sanh"
    assert strip_prefix("Phường Đông Hà") == "Đông Hà"


def test_ascii_key_drops_diacritics():
    assert ascii_key("Xã Đakrông") == "dakrong"
    assert ascii_key("Hướng Lập") == ascii_key("huong lap")


def test_vietnamese_alphabetical_order():
    names = ["Xã Đa", "Xã Ăn", "Xã Da", "Xã Âm", "Xã An", "Thị trấn Bé"]
    assert [strip_prefix(n) for n in sorted(names, key=sort_key)] == ["An", "Ăn", "Âm", "Bé", "Da", "Đa"]


def test_nfc_collapses_spaces():
    assert nfc("  Xã   A  Túc ") == "Xã A Túc"
