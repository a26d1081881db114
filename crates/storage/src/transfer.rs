//! [`StoreTransfer`] for SQLite: every record read a batch at a time by its key, and written with its id, for
//! `plan-server copy-db`.

use core_model::transfer::{
    HistoryRecord, ImageLinkRecord, ImageRecord, PlanRecord, StatusEntry, StoreTransfer, TokenEntry, TransferBatch,
    TransferCounts,
};
use core_model::{ChartImage, Delivery, ImageDigest, PlanId, RepoError, StatusRecord, Subscription};
use rusqlite::types::Type;
use rusqlite::{Connection, params};

use crate::error::{opt_id_to_sql, repo_error};
use crate::rows::{self, plan_columns};
use crate::store::SqliteStore;
use crate::{access, timestamp};

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn bad(column: usize, error: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(error))
}

fn count(conn: &Connection, sql: &str) -> rusqlite::Result<u64> {
    let n: i64 = conn.prepare_cached(sql)?.query_row([], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

impl StoreTransfer for SqliteStore {
    fn transfer_counts(&self) -> Result<TransferCounts, RepoError> {
        self.read(|conn| {
            Ok(TransferCounts {
                plans: count(conn, "SELECT COUNT(*) FROM plans")?,
                charts: count(conn, "SELECT COUNT(*) FROM charts")?,
                history: count(conn, "SELECT COUNT(*) FROM plan_history")?,
                images: count(conn, "SELECT COUNT(*) FROM chart_images")?,
                links: count(conn, "SELECT COUNT(*) FROM chart_image_links")?,
                status: count(conn, "SELECT COUNT(*) FROM runtime_status")?,
                tokens: count(conn, "SELECT COUNT(*) FROM api_tokens")?,
                subscriptions: count(conn, "SELECT COUNT(*) FROM webhook_subscriptions")?,
                deliveries: count(conn, "SELECT COUNT(*) FROM webhook_deliveries")?,
            })
        })
    }

    fn export_plans(&self, after: i64, n: usize) -> Result<Vec<PlanRecord>, RepoError> {
        self.read(|conn| {
            let mut records: Vec<PlanRecord> = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    plan_columns!(),
                    ", import_key, import_digest FROM plans WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))?
                .query_map(params![after, limit(n)], |row| {
                    Ok(PlanRecord {
                        plan: rows::plan_from_row(row)?,
                        import_key: row.get(15)?,
                        import_digest: row.get(16)?,
                        chart_import_keys: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let (Some(first), Some(last)) = (records.first(), records.last()) else { return Ok(records) };
            let (first, last) = (first.plan.id.0, last.plan.id.0);
            let mut stmt = conn.prepare_cached(
                "SELECT position, url, filename, content_type, kind, added_at, plan_id, import_key FROM charts \
                 WHERE plan_id BETWEEN ?1 AND ?2 ORDER BY plan_id, position",
            )?;
            let mut chart_rows = stmt.query(params![first, last])?;
            while let Some(row) = chart_rows.next()? {
                let plan_id = PlanId(row.get(6)?);
                if let Some(record) = records.iter_mut().find(|r| r.plan.id == plan_id) {
                    record.plan.charts.push(rows::chart_from_row(row)?);
                    record.chart_import_keys.push(row.get(7)?);
                }
            }
            Ok(records)
        })
    }

    fn export_history(&self, after: i64, n: usize) -> Result<Vec<HistoryRecord>, RepoError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT id, plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, \
                 actor_name, at, message_id, import_key FROM plan_history WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?
            .query_map(params![after, limit(n)], |row| {
                Ok(HistoryRecord { entry: rows::history_from_row(row)?, import_key: row.get(12)? })
            })?
            .collect()
        })
    }

    fn export_images(&self, after: &str, n: usize) -> Result<Vec<ImageRecord>, RepoError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT digest, content_type, bytes, stored_at FROM chart_images WHERE digest > ?1 ORDER BY digest \
                 LIMIT ?2",
            )?
            .query_map(params![after, limit(n)], |row| {
                let digest: String = row.get(0)?;
                let stored_at: String = row.get(3)?;
                Ok(ImageRecord {
                    image: ChartImage {
                        digest: ImageDigest::parse(&digest).map_err(|e| bad(0, e))?,
                        content_type: row.get(1)?,
                        bytes: row.get(2)?,
                    },
                    stored_at: timestamp::from_text(&stored_at).map_err(|e| bad(3, e))?,
                })
            })?
            .collect()
        })
    }

    fn export_links(&self, after: &str, n: usize) -> Result<Vec<ImageLinkRecord>, RepoError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT source_key, digest, linked_at FROM chart_image_links WHERE source_key > ?1 \
                 ORDER BY source_key LIMIT ?2",
            )?
            .query_map(params![after, limit(n)], |row| {
                let digest: String = row.get(1)?;
                let linked_at: String = row.get(2)?;
                Ok(ImageLinkRecord {
                    source_key: row.get(0)?,
                    digest: ImageDigest::parse(&digest).map_err(|e| bad(1, e))?,
                    linked_at: timestamp::from_text(&linked_at).map_err(|e| bad(2, e))?,
                })
            })?
            .collect()
        })
    }

    fn export_status(&self) -> Result<Vec<StatusEntry>, RepoError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT key, value, updated_at FROM runtime_status ORDER BY key")?
                .query_map([], |row| {
                    let updated_at: String = row.get(2)?;
                    Ok(StatusEntry {
                        key: row.get(0)?,
                        record: StatusRecord {
                            value: row.get(1)?,
                            updated_at: timestamp::from_text(&updated_at).map_err(|e| bad(2, e))?,
                        },
                    })
                })?
                .collect()
        })
    }

    fn export_tokens(&self) -> Result<Vec<TokenEntry>, RepoError> {
        self.read(access::export_tokens)
    }

    fn export_subscriptions(&self) -> Result<Vec<Subscription>, RepoError> {
        self.read(access::export_subscriptions)
    }

    fn export_deliveries(&self, after: i64, n: usize) -> Result<Vec<Delivery>, RepoError> {
        self.read(|conn| access::export_deliveries(conn, after, limit(n)))
    }

    fn import(&self, batch: &TransferBatch) -> Result<(), RepoError> {
        self.write(|tx| match batch {
            TransferBatch::Tokens(entries) => {
                entries.iter().try_for_each(|e| access::import_token(tx, e)).map_err(repo_error)
            }
            TransferBatch::Subscriptions(all) => {
                all.iter().try_for_each(|s| access::import_subscription(tx, s)).map_err(repo_error)
            }
            TransferBatch::Deliveries(all) => {
                all.iter().try_for_each(|d| access::import_delivery(tx, d)).map_err(repo_error)
            }
            TransferBatch::Plans(records) => records.iter().try_for_each(|record| import_plan(tx, record)),
            TransferBatch::History(records) => records.iter().try_for_each(|record| import_history(tx, record)),
            TransferBatch::Images(records) => records.iter().try_for_each(|record| {
                let size = i64::try_from(record.image.bytes.len()).unwrap_or(i64::MAX);
                tx.prepare_cached(
                    "INSERT INTO chart_images (digest, content_type, size, bytes, stored_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.image.digest.as_str(),
                        record.image.content_type,
                        size,
                        record.image.bytes,
                        timestamp::to_text(record.stored_at)
                    ])
                })
                .map(drop)
                .map_err(repo_error)
            }),
            TransferBatch::Links(records) => records.iter().try_for_each(|record| {
                tx.prepare_cached("INSERT INTO chart_image_links (source_key, digest, linked_at) VALUES (?1, ?2, ?3)")
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            record.source_key,
                            record.digest.as_str(),
                            timestamp::to_text(record.linked_at)
                        ])
                    })
                    .map(drop)
                    .map_err(repo_error)
            }),
            TransferBatch::Status(entries) => entries.iter().try_for_each(|entry| {
                tx.prepare_cached(
                    "INSERT INTO runtime_status (key, value, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO \
                     UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![entry.key, entry.record.value, timestamp::to_text(entry.record.updated_at)])
                })
                .map(drop)
                .map_err(repo_error)
            }),
        })
    }

    fn finish_import(&self) -> Result<(), RepoError> {
        // SQLite gives a new row the largest id plus one: nothing to do.
        Ok(())
    }

    /// The file's device and inode (the same through a symbolic or hard link, or a relative path); an in-memory
    /// database is its own.
    fn identity(&self) -> Result<String, RepoError> {
        let Some(path) = self.path() else { return Ok(format!("sqlite in memory {:p}", std::ptr::from_ref(self))) };
        let metadata = std::fs::metadata(path).map_err(|e| RepoError::Failure(Box::new(e)))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Ok(format!("sqlite file {}:{}", metadata.dev(), metadata.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            let path = std::fs::canonicalize(path).map_err(|e| RepoError::Failure(Box::new(e)))?;
            Ok(format!("sqlite file {}", path.display()))
        }
    }

    fn clear(&self) -> Result<(), RepoError> {
        self.write(|tx| {
            tx.execute_batch(
                "DELETE FROM chart_image_links; DELETE FROM chart_images; DELETE FROM plan_tickers; \
                 DELETE FROM charts; DELETE FROM plan_history; DELETE FROM plans; DELETE FROM runtime_status; \
                 DELETE FROM webhook_deliveries; DELETE FROM webhook_subscriptions; DELETE FROM api_tokens;",
            )
            .map_err(repo_error)
        })
    }
}

fn import_plan(tx: &Connection, record: &PlanRecord) -> Result<(), RepoError> {
    let plan = &record.plan;
    tx.prepare_cached(
        "INSERT INTO plans (id, coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, \
         message_id, version, created_at, updated_at, deleted_at, import_key, tickers, import_digest) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            plan.id.0,
            plan.coach.as_str(),
            plan.date.to_string(),
            plan.text,
            opt_id_to_sql(plan.author.user_id.map(|u| u.0))?,
            plan.author.display_name,
            opt_id_to_sql(plan.source.guild_id)?,
            opt_id_to_sql(plan.source.channel_id)?,
            plan.source.channel_name,
            opt_id_to_sql(plan.source.message_id)?,
            plan.version,
            timestamp::to_text(plan.created_at),
            timestamp::to_text(plan.updated_at),
            plan.deleted_at.map(timestamp::to_text),
            record.import_key,
            rows::tickers_text(&plan.tickers),
            record.import_digest,
        ])
    })
    .map_err(repo_error)?;
    rows::write_ticker_rows(tx, plan.id, &plan.tickers).map_err(repo_error)?;
    for (chart, key) in plan.charts.iter().zip(record.chart_import_keys.iter().chain(std::iter::repeat(&None))) {
        rows::insert_chart(tx, plan.id, chart, key.as_deref()).map_err(repo_error)?;
    }
    Ok(())
}

fn import_history(tx: &Connection, record: &HistoryRecord) -> Result<(), RepoError> {
    let entry = &record.entry;
    tx.prepare_cached(
        "INSERT INTO plan_history (id, plan_id, coach, trading_date, version, action, text_before, text_after, \
         actor_id, actor_name, at, import_key, message_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            entry.id,
            entry.plan_id.0,
            entry.coach.as_str(),
            entry.date.to_string(),
            entry.version,
            entry.action.as_str(),
            entry.text_before,
            entry.text_after,
            opt_id_to_sql(entry.actor.user_id.map(|u| u.0))?,
            entry.actor.display_name,
            timestamp::to_text(entry.at),
            record.import_key,
            opt_id_to_sql(entry.message_id)?,
        ])
    })
    .map(drop)
    .map_err(repo_error)
}
