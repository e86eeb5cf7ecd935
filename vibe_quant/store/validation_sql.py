"""State tables and queries of the validation stage (migration 3)."""

MIGRATION = (
    3,
    """
    CREATE TABLE validation_runs (
        id INTEGER PRIMARY KEY,
        sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
        combo_idx INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
)
