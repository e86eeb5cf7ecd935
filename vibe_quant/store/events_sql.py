"""State tables and queries of risk presets and the structured event log (migration 4)."""

MIGRATION = (
    4,
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL
    )
    """,
)
