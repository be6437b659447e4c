//! The schema, as versioned SQL files embedded in the binary.
//!
//! At start the store applies, in version order and in one transaction,
//! every migration that `schema_migrations` does not list, and lists it.
//! All or nothing: a failing migration rolls back the whole start. A
//! transaction-scoped advisory lock makes concurrent starts (several
//! servers booting at once) take turns: the first applies, the others find
//! nothing left to do. A migration therefore cannot use statements that
//! refuse transactions (`CREATE INDEX CONCURRENTLY`).
//!
//! A database at a newer version than this binary knows (after a
//! rollback of a deploy) is accepted: migrations only add.

use postgres::Client;

use super::connection::describe;
use super::OrderStoreError;

/// One schema change. Versions start at 1 and increase by 1.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "orders",
    sql: include_str!("migrations/0001_orders.sql"),
}];

/// Key of the advisory lock the starts take turns on ("boxoffic").
const MIGRATIONS_LOCK_KEY: i64 = 0x626F_786F_6666_6963;

const CREATE_SCHEMA_MIGRATIONS: &str = "\
    CREATE TABLE IF NOT EXISTS schema_migrations (\
        version integer PRIMARY KEY, \
        applied_at timestamptz NOT NULL DEFAULT now())";

/// Applies the pending migrations; returns the versions it applied (empty
/// when the schema was up to date). `url_without_password` names the
/// database in errors.
pub(crate) fn apply(
    client: &mut Client,
    url_without_password: &str,
) -> Result<Vec<u32>, OrderStoreError> {
    assert_ordered(MIGRATIONS);
    let failed =
        |version: u32| move |error: postgres::Error| fail(version, url_without_password, &error);
    let mut transaction = client.transaction().map_err(failed(0))?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATIONS_LOCK_KEY])
        .map_err(failed(0))?;
    transaction
        .batch_execute(CREATE_SCHEMA_MIGRATIONS)
        .map_err(failed(0))?;
    let version_max: i32 = transaction
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(failed(0))?
        .get(0);
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let version = i32::try_from(migration.version).expect("versions fit in integer");
        if version <= version_max {
            continue;
        }
        transaction
            .batch_execute(migration.sql)
            .map_err(failed(migration.version))?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
            )
            .map_err(failed(migration.version))?;
        applied.push(migration.version);
    }
    transaction.commit().map_err(failed(0))?;
    Ok(applied)
}

/// A database error is the migration's; anything else is the connection's.
fn fail(version: u32, url_without_password: &str, error: &postgres::Error) -> OrderStoreError {
    if error.as_db_error().is_none() {
        return OrderStoreError::Unavailable {
            url_without_password: url_without_password.to_string(),
            message: describe(error),
        };
    }
    let name = MIGRATIONS
        .iter()
        .find(|migration| migration.version == version)
        .map_or("bookkeeping", |migration| migration.name);
    OrderStoreError::Migration {
        version,
        message: format!("{name}: {}", describe(error)),
    }
}

fn assert_ordered(migrations: &[Migration]) {
    for (i, migration) in migrations.iter().enumerate() {
        assert_eq!(
            migration.version as usize,
            i + 1,
            "migration versions are 1, 2, 3, ... in order"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_not_empty() {
        assert_ordered(MIGRATIONS);
        for migration in MIGRATIONS {
            assert!(migration.sql.contains(';'), "{} is empty", migration.name);
        }
    }
}
