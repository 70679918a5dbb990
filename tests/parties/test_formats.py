"""List parsers: the official formats from their published layouts, and malformed files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from chiptrail.errors import InvalidInput
from chiptrail.parties.formats._text import country_code, parse_listing_date
from chiptrail.parties.formats.csl import parse_csl_csv, parse_csl_json
from chiptrail.parties.formats.detect import ListFormat, detect_format, parse_list
from chiptrail.parties.formats.dpl import parse_dpl
from chiptrail.parties.formats.ftm import parse_ftm_lines
from chiptrail.parties.formats.nsfreg import parse_nsfreg
from chiptrail.parties.formats.ofac import parse_ofac_sdn
from chiptrail.parties.formats.unsc import parse_unsc_xml
from chiptrail.parties.model import Ownership, Party, from_ftm, parse_percentage, to_ftm
from chiptrail.types import PartyId


def test_csl_csv_reads_names_aliases_countries(vectors: Path) -> None:
    result = parse_csl_csv((vectors / "csl.csv").read_bytes())
    by_name = {p.name: p for p in result.parties}
    sophgo = by_name["Sophgo Technologies Ltd."]
    assert sophgo.aliases == ("Suanneng Technology", "Sophon")
    assert sophgo.countries == ("CN",)
    assert sophgo.party_id == "us-csl.a1b2c3"
    assert sophgo.programs[0].startswith("Entity List")
    assert by_name["Example Trading Sdn. Bhd."].countries == ("MY", "SG")
    assert by_name["Doe, John"].schema == "Person"
    assert by_name["AEROCARIBBEAN AIRLINES"].countries == ("CU",)
    assert result.warnings == ()


def test_csl_json_matches_the_csv(vectors: Path) -> None:
    result = parse_csl_json((vectors / "csl.json").read_bytes())
    sophgo = next(p for p in result.parties if p.name.startswith("Sophgo"))
    assert sophgo.aliases == ("Suanneng Technology", "Sophon")
    assert sophgo.countries == ("CN",)
    assert sophgo.addresses == ("No. 9 Dongbeiwang West Road, Beijing, 100094",)


def test_ofac_sdn_with_aliases_and_addresses(vectors: Path) -> None:
    result = parse_ofac_sdn(
        (vectors / "sdn.csv").read_bytes(),
        (vectors / "alt.csv").read_bytes(),
        (vectors / "add.csv").read_bytes(),
    )
    by_id = {p.party_id: p for p in result.parties}
    assert set(by_id) == {"ofac-sdn.36", "ofac-sdn.173", "ofac-sdn.2674"}
    assert by_id["ofac-sdn.36"].aliases == ("AERO-CARIBBEAN",)
    assert by_id["ofac-sdn.36"].countries == ("CU",)
    assert by_id["ofac-sdn.173"].previous_names == ("AFRO-CARIBBEAN LTD.",)
    assert by_id["ofac-sdn.173"].countries == ("GB",)
    assert by_id["ofac-sdn.2674"].schema == "Vessel"
    assert by_id["ofac-sdn.36"].programs == ("CUBA",)


def test_ftm_lines_give_parties_and_links(vectors: Path) -> None:
    result = parse_ftm_lines((vectors / "ftm.jsonl").read_bytes())
    assert {p.party_id for p in result.parties} == {"co-parent", "co-sub", "pe-director"}
    assert result.ownerships == (Ownership("own-1", "co-parent", "co-sub", 60.0),)  # type: ignore[arg-type]
    assert result.directorships[0].role == "Director"
    sub = next(p for p in result.parties if p.party_id == "co-sub")
    assert sub.countries == ("SG",)
    assert sub.aliases == ("Sub SG",)


def test_ftm_round_trip() -> None:
    party = Party("p1", "Company", "Acme Ltd", ("Acme",), ("Old Acme",), ("CN",), ("Beijing",))  # type: ignore[arg-type]
    assert from_ftm(to_ftm(party)) == party
    own = Ownership("o1", "a", "b", 50.5)  # type: ignore[arg-type]
    assert from_ftm(to_ftm(own)) == own


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("csl.csv", ListFormat.CSL_CSV),
        ("csl.json", ListFormat.CSL_JSON),
        ("sdn.csv", ListFormat.OFAC_SDN),
        ("ftm.jsonl", ListFormat.FTM),
    ],
    ids=["CSL CSV", "CSL JSON", "OFAC sdn.csv", "FtM lines"],
)
def test_format_is_detected(vectors: Path, name: str, fmt: ListFormat) -> None:
    data = (vectors / name).read_bytes()
    assert detect_format(data) is fmt
    assert parse_list(data).parties


def test_undetectable_format_says_use_format() -> None:
    with pytest.raises(InvalidInput, match="--format"):
        detect_format(b"hello world\n")


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("bad_missing_column.csv", ListFormat.CSL_CSV, "missing column"),
        ("bad_columns_sdn.csv", ListFormat.OFAC_SDN, "expected 12"),
        ("bad_encoding.csv", ListFormat.CSL_CSV, "not UTF-8"),
        ("bad_ftm.jsonl", ListFormat.FTM, "line 2"),
    ],
    ids=["CSL without name column", "sdn.csv short row", "undecodable bytes", "broken FtM line"],
)
def test_malformed_files_are_refused_clearly(
    vectors: Path, name: str, fmt: ListFormat, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_list((vectors / name).read_bytes(), fmt)


def test_latin1_file_is_read_with_a_warning(vectors: Path) -> None:
    result = parse_csl_csv((vectors / "latin1_csl.csv").read_bytes())
    assert result.parties[0].name == "Société Exemple S.A."
    assert any("Windows-1252" in w for w in result.warnings)


def test_self_ownership_and_sums_over_100_warn() -> None:
    lines = b"\n".join(
        [
            b'{"id": "o1", "schema": "Ownership", "properties": {"owner": ["a"], "asset": ["a"]}}',
            b'{"id": "o2", "schema": "Ownership", "properties": '
            b'{"owner": ["a"], "asset": ["b"], "percentage": ["70"]}}',
            b'{"id": "o3", "schema": "Ownership", "properties": '
            b'{"owner": ["c"], "asset": ["b"], "percentage": ["60%"]}}',
        ]
    )
    result = parse_ftm_lines(lines)
    assert len(result.ownerships) == 2
    assert any("owns itself" in w for w in result.warnings)
    assert any("sums to 130%" in w for w in result.warnings)


@pytest.mark.parametrize("raw", ["abc", "150", "-5"], ids=["text", "over 100", "negative"])
def test_bad_percentages_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        parse_percentage(raw)
    assert parse_percentage("25-50%") == 25.0


def test_unknown_country_is_a_warning_not_a_crash() -> None:
    doc = b'{"list_id": "x", "entities": [{"name": "Acme", "country": "Atlantis"}]}'
    result = parse_nsfreg(doc)
    assert result.parties[0].countries == ()
    assert result.warnings == ("unknown country 'Atlantis': entry kept without a country",)


def test_us_lists_json_groups_rows_by_name_and_country() -> None:
    doc = (
        b'{"list_id": "el", "entities": ['
        b'{"name": "Huawei Cloud", "country": "Singapore", "address": "A", "aliases": []},'
        b'{"name": "Huawei Cloud", "country": "Singapore", "address": "B", "aliases": ["HC"]},'
        b'{"name": "Huawei Cloud", "country": "China", "address": "C"}]}'
    )
    result = parse_nsfreg(doc)
    assert len(result.parties) == 2
    sg = next(p for p in result.parties if p.countries == ("SG",))
    assert sg.addresses == ("A", "B")
    assert sg.aliases == ("HC",)


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"{not json", ListFormat.CSL_JSON, "not JSON"),
        (b'{"total": 1}', ListFormat.CSL_JSON, "results"),
        (b'{"results": [1]}', ListFormat.CSL_JSON, "not an object"),
        (b'{"results": [{"name": ""}]}', ListFormat.CSL_JSON, "empty name"),
        (b'{"entities": []}', ListFormat.US_LISTS_JSON, "list_id"),
        (b'{"list_id": "x", "entities": [{"aliases": []}]}', ListFormat.US_LISTS_JSON, "no name"),
        (b"[1, 2]", ListFormat.US_LISTS_JSON, "entities"),
        (b'x1,"A","-0-","P","","","","","","","",""\n', ListFormat.OFAC_SDN, "not a number"),
        (b'1,"","-0-","P","","","","","","","",""\n', ListFormat.OFAC_SDN, "no name"),
        (b"[1]\n", ListFormat.FTM, "not a JSON object"),
        (
            b'{"id": "o", "schema": "Ownership", "properties": {"owner": ["a"]}}',
            ListFormat.FTM,
            "owner and asset",
        ),
        (b'{"schema": "Company", "properties": {"name": ["A"]}}', ListFormat.FTM, "without an id"),
        (b'{"id": "c", "schema": "Company", "properties": {}}', ListFormat.FTM, "no name"),
    ],
    ids=[
        "CSL JSON broken",
        "CSL JSON without results",
        "CSL JSON entry not an object",
        "CSL JSON empty name",
        "US-lists JSON without list_id",
        "US-lists JSON entity without name",
        "US-lists JSON not an object",
        "SDN ent_num not a number",
        "SDN without name",
        "FtM line not an object",
        "FtM ownership without asset",
        "FtM entity without id",
        "FtM company without name",
    ],
)
def test_more_malformed_inputs(data: bytes, fmt: ListFormat, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_list(data, fmt)


def test_ofac_companions_for_unknown_entries_warn(vectors: Path) -> None:
    alt = b'999,1,"aka","GHOST","-0-"\r\n'
    add = b'999,1,"-0-","Nowhere","Atlantis","-0-"\r\n36,2,"-0-","Somewhere","Atlantis","-0-"\r\n'
    result = parse_ofac_sdn((vectors / "sdn.csv").read_bytes(), alt, add)
    assert any("alias for unknown entry 999" in w for w in result.warnings)
    assert any("address for unknown entry 999" in w for w in result.warnings)
    assert any("unknown country 'Atlantis'" in w for w in result.warnings)


def test_bare_csl_json_array_and_duplicate_ids() -> None:
    doc = (
        b'[{"id": "1", "name": "A Co", "source": "EL"},'
        b' {"id": "1", "name": "B Co", "source": "EL"}]'
    )
    result = parse_csl_json(doc)
    assert [p.name for p in result.parties] == ["B Co"]
    assert result.warnings == ("duplicate entry id us-csl.1: later row kept",)


def test_bis_dpl_text_groups_rows_and_keeps_listing_dates(vectors: Path) -> None:
    data = (vectors / "dpl.txt").read_bytes()
    assert detect_format(data) is ListFormat.BIS_DPL
    result = parse_list(data)
    by_name = {p.name: p for p in result.parties}
    trading = by_name["EXAMPLE AVIONICS TRADING LLC"]
    assert trading.countries == ("AE", "HK")
    assert len(trading.addresses) == 2
    assert trading.listed_on == date(2024, 3, 1)
    assert trading.list_id == "us-bis-dpl"
    assert by_name["DOE, JOHN Q."].listed_on == date(2019, 7, 15)


def test_bis_dpl_without_its_header_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Effective_Date"):
        parse_dpl(b"Name\tCity\nX\tY\n")


def test_un_consolidated_xml_reads_people_and_entities(vectors: Path) -> None:
    data = (vectors / "unsc.xml").read_bytes()
    assert detect_format(data) is ListFormat.UN_SC_XML
    result = parse_list(data)
    person, entity = result.parties
    assert (person.schema, person.name) == ("Person", "EXAMPLE PERSON ONE")
    assert person.aliases == ("Ex Am Pul", "예시 인물")
    assert person.countries == ("KP",)
    assert person.identifiers == ("PD9000001",)
    assert person.listed_on == date(2016, 3, 2)
    assert (entity.party_id, entity.countries) == ("un-sc.9000002", ("KP", "CN"))
    assert entity.programs == ("DPRK",)
    assert entity.listed_on == date(2009, 4, 24)


@pytest.mark.parametrize(
    "data",
    [
        b"<CONSOLIDATED_LIST><INDIVIDUALS>",
        b'<!DOCTYPE x [<!ENTITY a "b">]><CONSOLIDATED_LIST/>',
        b"<CONSOLIDATED_LIST><ENTITIES><ENTITY><FIRST_NAME>X</FIRST_NAME></ENTITY></ENTITIES>"
        b"</CONSOLIDATED_LIST>",
    ],
    ids=["truncated XML", "entity declarations", "entry without DATAID"],
)
def test_bad_un_xml_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_unsc_xml(data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-08-02", date(2021, 8, 2)),
        ("June 21, 2022", date(2022, 6, 21)),
        ("46 F.R. 46154 9/17/81 and 46 F.R. 19290 3/30/81", date(1981, 9, 17)),
        ("90 FR 4622, 1/16/25", date(2025, 1, 16)),
        ("no date here", None),
    ],
    ids=["ISO", "long US", "two FR citations (latest)", "FR citation, 2-digit year", "none"],
)
def test_listing_dates_as_lists_write_them(raw: str, expected: date | None) -> None:
    assert parse_listing_date(raw) == expected


def test_countries_by_rigour_territories() -> None:
    assert country_code("Democratic Republic of Congo") == "CD"
    assert country_code("Korea, North") == "KP"
    assert country_code("Crimea Region of Ukraine") == "UA"
    assert country_code("Atlantis") is None


def test_listing_date_survives_the_ftm_round_trip() -> None:
    party = Party(
        PartyId("l.1"), "Company", "Acme", listed_on=date(2020, 1, 2), identifiers=("X1",)
    )
    back = from_ftm(to_ftm(party))
    assert isinstance(back, Party)
    assert (back.listed_on, back.identifiers) == (date(2020, 1, 2), ("X1",))
    ftm = {
        "id": "e1",
        "schema": "Company",
        "properties": {"name": ["A"], "listingDate": ["2019-05-16"]},
    }
    parsed = from_ftm(ftm)
    assert isinstance(parsed, Party)
    assert parsed.listed_on == date(2019, 5, 16)
