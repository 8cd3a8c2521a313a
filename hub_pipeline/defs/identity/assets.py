"""Identity: decide which entries describe the same work before the SQL models group them."""


from dagster import AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from hub_pipeline.defs.ingest.assets import entries
from hub_pipeline.defs.partitions import daily_partitions
from hub_pipeline.defs.resources import WRITER_POOL
from hub_pipeline.defs.warehouse import warehouse
from hub_pipeline.lib.identity import resolve
from hub_pipeline.lib.identity_store import ensure_identity_tables, read_entries, write_resolution


@asset(
    key=AssetKey(["intermediate", "paper_identity"]),
    deps=[entries],
    partitions_def=daily_partitions,
    pool=WRITER_POOL,
    group_name="warehouse",
    kinds={"python", "duckdb"},
    # Identity is resolved over all entries at once, so a range of days needs one run only.
    backfill_policy=BackfillPolicy.single_run(),
)
def paper_identity(context: AssetExecutionContext, duckdb: DuckDBResource) -> MaterializeResult:
    """Map every entry of every day to its work: shared identifiers first, then title and authors.

    Grain: one row per raw.entries row. Also rewrites intermediate.paper_aliases and
    main.paper_match_candidates (pairs that look alike but were not merged).
    """
    with warehouse(duckdb) as conn:
        ensure_identity_tables(conn)
        rows = read_entries(conn)
    if rows.height == 0:
        context.log.warning("raw.entries is empty: no work to identify; see fetch_log for each source's reason")
    # The warehouse is closed while resolving, so DuckDB's buffers are freed before the Python
    # objects of every entry are built. The step keeps the writer pool's slot all along.
    resolution = resolve(rows)
    del rows
    with warehouse(duckdb) as conn:
        write_resolution(conn, resolution)

    identity = resolution.identity
    papers = identity["paper_id"].n_unique() if identity.height else 0
    rules = dict(identity.group_by("identity_rule").len().iter_rows()) if identity.height else {}
    context.log.info(
        f"{identity.height} entries -> {papers} works; {resolution.fuzzy_merges} merged by title and authors, "
        f"{resolution.candidates.height} candidate pairs left for review"
    )
    preview = resolution.candidates.head(5)
    lines = ["| a | b | confidence | reason |", "| --- | --- | --- | --- |"]
    lines += [
        f"| {row['paper_id_a']} | {row['paper_id_b']} | {row['confidence']:.3f} | {row['reason']} |"
        for row in preview.iter_rows(named=True)
    ]
    return MaterializeResult(
        metadata={
            "entries": identity.height,
            "papers": papers,
            "fuzzy_merges": resolution.fuzzy_merges,
            "candidates": resolution.candidates.height,
            "aliases": resolution.aliases.height,
            **{f"rule_{rule}": int(count) for rule, count in sorted(rules.items())},
            "preview": MetadataValue.md("\n".join(lines)),
        }
    )
