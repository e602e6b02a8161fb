//! The versioned schema: each migration applied once, in order, in one transaction,
//! recorded in `schema_migrations`. An advisory lock serialises processes that start at the
//! same time (a coordinator and a `scanctl import`).

use crate::Error;

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first. Add new ones at the end; never edit an applied one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "scans",
        sql: include_str!("../migrations/0001_scans.sql"),
    },
    Migration {
        version: 2,
        name: "tally index",
        sql: include_str!("../migrations/0002_tally_index.sql"),
    },
];

/// Key of the advisory lock held while migrating (any constant the project owns).
const LOCK_KEY: i64 = 0x676f_7673_6361_6e01; // "govscan" + 1

pub(crate) async fn apply(client: &mut tokio_postgres::Client) -> Result<Vec<i32>, Error> {
    // One transaction: the lock first, so that even the bookkeeping table is created once.
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let mut applied_now = Vec::new();
    for m in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[&m.version],
            )
            .await?
            .is_some();
        if !done {
            tx.batch_execute(m.sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                &[&m.version, &m.name],
            )
            .await?;
            applied_now.push(m.version);
        }
    }
    tx.commit().await?;
    Ok(applied_now)
}
