"""The site's record of which radar day pages exist, kept in site_dir/manifest.json.

render_site writes only the pages it is given, so the indexes are rebuilt from this record
plus the day pages found on disk. Pages on disk win: a day whose page was deleted drops out,
and a page missing from the record (say, after manifest.json was deleted) is listed again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1

_LANGUAGES = ("zh-CN", "en")
_DAY_PAGE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.html$")


@dataclass(slots=True)
class DayRecord:
    """One radar day page as the indexes list it."""

    day: date
    paper_count: int | None  # None for a page found on disk but not in the record
    briefing_generator: str | None


@dataclass(slots=True)
class RadarRecord:
    """One radar and its day pages. A radar found only on disk gets its id as name and English."""

    radar_id: str
    name: str
    language: str
    query: str
    description: str
    days: dict[date, DayRecord] = field(default_factory=dict)

    def days_newest_first(self) -> list[DayRecord]:
        return [self.days[day] for day in sorted(self.days, reverse=True)]


def _parse_day(value: str, manifest_path: Path) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"invalid day {value!r} in {manifest_path}: expected YYYY-MM-DD. "
            "Delete the file and render again; the indexes are rebuilt from the pages on disk."
        ) from None


def _read_manifest(manifest_path: Path) -> dict[str, RadarRecord]:
    if not manifest_path.exists():
        return {}

    try:
        return _records_from_document(json.loads(manifest_path.read_text(encoding="utf-8")), manifest_path)
    except (json.JSONDecodeError, AttributeError, KeyError, TypeError) as error:
        raise ValueError(
            f"invalid site manifest {manifest_path}: {error!r}. "
            "Delete the file and render again; the indexes are rebuilt from the pages on disk."
        ) from error


def _records_from_document(document: dict, manifest_path: Path) -> dict[str, RadarRecord]:
    records: dict[str, RadarRecord] = {}
    for radar_id, radar in document["radars"].items():
        record = RadarRecord(
            radar_id=radar_id,
            name=radar.get("name") or radar_id,
            language=radar.get("language") if radar.get("language") in _LANGUAGES else "en",
            query=radar.get("query") or "",
            description=radar.get("description") or "",
        )
        for day_text, day in radar.get("days", {}).items():
            day_value = _parse_day(day_text, manifest_path)
            record.days[day_value] = DayRecord(
                day=day_value,
                paper_count=day.get("papers"),
                briefing_generator=day.get("briefing_generator"),
            )
        records[radar_id] = record

    return records


def _scan_day_pages(site_dir: Path) -> dict[str, set[date]]:
    """Find site_dir/<radar_id>/<YYYY-MM-DD>.html files, by radar id."""
    found: dict[str, set[date]] = {}
    if not site_dir.is_dir():
        return found

    for radar_dir in site_dir.iterdir():
        if not radar_dir.is_dir() or radar_dir.name == "static":
            continue
        for page in radar_dir.iterdir():
            match = _DAY_PAGE_NAME.match(page.name)
            if match is None or not page.is_file():
                continue
            try:
                found.setdefault(radar_dir.name, set()).add(date.fromisoformat(match.group(1)))
            except ValueError:
                continue  # a name like 2025-13-40.html is not a day page

    return found


def load_site_records(site_dir: Path) -> dict[str, RadarRecord]:
    """Read the manifest and reconcile it with the day pages on disk."""
    records = _read_manifest(site_dir / MANIFEST_NAME)
    on_disk = _scan_day_pages(site_dir)

    for record in records.values():
        present = on_disk.get(record.radar_id, set())
        record.days = {day: entry for day, entry in record.days.items() if day in present}

    for radar_id, days in on_disk.items():
        record = records.setdefault(
            radar_id,
            RadarRecord(radar_id=radar_id, name=radar_id, language="en", query="", description=""),
        )
        for day in days:
            record.days.setdefault(day, DayRecord(day=day, paper_count=None, briefing_generator=None))

    return {radar_id: records[radar_id] for radar_id in sorted(records) if records[radar_id].days}


def manifest_json(records: dict[str, RadarRecord]) -> str:
    """Serialize the records with sorted keys, so equal sites give equal bytes."""
    radars = {}
    for radar_id in sorted(records):
        record = records[radar_id]
        radars[radar_id] = {
            "name": record.name,
            "language": record.language,
            "query": record.query,
            "description": record.description,
            "days": {
                day.isoformat(): {
                    "papers": entry.paper_count,
                    "briefing_generator": entry.briefing_generator,
                }
                for day, entry in sorted(record.days.items())
            },
        }

    document = {"version": MANIFEST_VERSION, "radars": radars}
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
