//! [`StoreTransfer`] for PostgreSQL: every record read a batch at a time by its key, and written with its id, for
//! `plan-server copy-db`; the identity sequences then start past every imported id.

use core_model::transfer::{
    HistoryRecord, ImageLinkRecord, ImageRecord, PlanRecord, StatusEntry, StoreTransfer, TokenEntry, TransferBatch,
    TransferCounts,
};
use core_model::{ChartImage, Delivery, ImageDigest, PlanId, RepoError, StatusRecord, Subscription};
use postgres::Row;

use crate::error::{BadStoredValue, opt_id_to_sql, repo_error};
use crate::rows::{self, plan_columns};
use crate::store::{PgStore, Tx};
use crate::{access, words};

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, column: usize) -> Result<T, RepoError> {
    row.try_get(column).map_err(repo_error)
}

fn digest(text: String) -> Result<ImageDigest, RepoError> {
    ImageDigest::parse(&text).map_err(|_| BadStoredValue { column: "digest", value: text }.into())
}

impl StoreTransfer for PgStore {
    fn transfer_counts(&self) -> Result<TransferCounts, RepoError> {
        self.read(|tx| {
            let row = tx
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM plans), (SELECT COUNT(*) FROM charts), \
                     (SELECT COUNT(*) FROM plan_history), (SELECT COUNT(*) FROM chart_images), \
                     (SELECT COUNT(*) FROM chart_image_links), (SELECT COUNT(*) FROM runtime_status), \
                     (SELECT COUNT(*) FROM api_tokens), (SELECT COUNT(*) FROM webhook_subscriptions), \
                     (SELECT COUNT(*) FROM webhook_deliveries)",
                    &[],
                )
                .map_err(repo_error)?;
            let n =
                |column: usize| -> Result<u64, RepoError> { Ok(u64::try_from(get::<i64>(&row, column)?).unwrap_or(0)) };
            Ok(TransferCounts {
                plans: n(0)?,
                charts: n(1)?,
                history: n(2)?,
                images: n(3)?,
                links: n(4)?,
                status: n(5)?,
                tokens: n(6)?,
                subscriptions: n(7)?,
                deliveries: n(8)?,
            })
        })
    }

    fn export_plans(&self, after: i64, n: usize) -> Result<Vec<PlanRecord>, RepoError> {
        self.read(|tx| {
            let plan_rows = tx
                .query(
                    concat!(
                        "SELECT ",
                        plan_columns!(),
                        ", import_key, import_digest FROM plans WHERE id > $1 ORDER BY id LIMIT $2"
                    ),
                    &[&after, &limit(n)],
                )
                .map_err(repo_error)?;
            let mut records = plan_rows
                .iter()
                .map(|row| {
                    Ok(PlanRecord {
                        plan: rows::plan_from_row(row)?,
                        import_key: get(row, 15)?,
                        import_digest: get(row, 16)?,
                        chart_import_keys: Vec::new(),
                    })
                })
                .collect::<Result<Vec<_>, RepoError>>()?;
            let (Some(first), Some(last)) = (records.first(), records.last()) else { return Ok(records) };
            let (first, last) = (first.plan.id.0, last.plan.id.0);
            let chart_rows = tx
                .query(
                    "SELECT position, url, filename, content_type, kind, added_at, plan_id, import_key FROM charts \
                     WHERE plan_id BETWEEN $1 AND $2 ORDER BY plan_id, position",
                    &[&first, &last],
                )
                .map_err(repo_error)?;
            for row in &chart_rows {
                let plan_id = PlanId(get(row, 6)?);
                if let Some(record) = records.iter_mut().find(|r| r.plan.id == plan_id) {
                    record.plan.charts.push(rows::chart_from_row(row)?);
                    record.chart_import_keys.push(get(row, 7)?);
                }
            }
            Ok(records)
        })
    }

    fn export_history(&self, after: i64, n: usize) -> Result<Vec<HistoryRecord>, RepoError> {
        self.read(|tx| {
            let history_rows = tx
                .query(
                    "SELECT id, plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, \
                     actor_name, at, message_id, import_key FROM plan_history WHERE id > $1 ORDER BY id LIMIT $2",
                    &[&after, &limit(n)],
                )
                .map_err(repo_error)?;
            history_rows
                .iter()
                .map(|row| Ok(HistoryRecord { entry: rows::history_from_row(row)?, import_key: get(row, 12)? }))
                .collect()
        })
    }

    fn export_images(&self, after: &str, n: usize) -> Result<Vec<ImageRecord>, RepoError> {
        self.read(|tx| {
            let image_rows = tx
                .query(
                    "SELECT digest, content_type, bytes, stored_at FROM chart_images WHERE digest > $1 \
                     ORDER BY digest LIMIT $2",
                    &[&after, &limit(n)],
                )
                .map_err(repo_error)?;
            image_rows
                .iter()
                .map(|row| {
                    Ok(ImageRecord {
                        image: ChartImage {
                            digest: digest(get(row, 0)?)?,
                            content_type: get(row, 1)?,
                            bytes: get(row, 2)?,
                        },
                        stored_at: get(row, 3)?,
                    })
                })
                .collect()
        })
    }

    fn export_links(&self, after: &str, n: usize) -> Result<Vec<ImageLinkRecord>, RepoError> {
        self.read(|tx| {
            let link_rows = tx
                .query(
                    "SELECT source_key, digest, linked_at FROM chart_image_links WHERE source_key > $1 \
                     ORDER BY source_key LIMIT $2",
                    &[&after, &limit(n)],
                )
                .map_err(repo_error)?;
            link_rows
                .iter()
                .map(|row| {
                    Ok(ImageLinkRecord {
                        source_key: get(row, 0)?,
                        digest: digest(get(row, 1)?)?,
                        linked_at: get(row, 2)?,
                    })
                })
                .collect()
        })
    }

    fn export_status(&self) -> Result<Vec<StatusEntry>, RepoError> {
        self.read(|tx| {
            let status_rows =
                tx.query("SELECT key, value, updated_at FROM runtime_status ORDER BY key", &[]).map_err(repo_error)?;
            status_rows
                .iter()
                .map(|row| {
                    Ok(StatusEntry {
                        key: get(row, 0)?,
                        record: StatusRecord { value: get(row, 1)?, updated_at: get(row, 2)? },
                    })
                })
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
        self.read(|tx| access::export_deliveries(tx, after, limit(n)))
    }

    fn import(&self, batch: &TransferBatch) -> Result<(), RepoError> {
        self.write(|tx| match batch {
            TransferBatch::Tokens(entries) => entries.iter().try_for_each(|e| access::import_token(tx, e)),
            TransferBatch::Subscriptions(all) => all.iter().try_for_each(|s| access::import_subscription(tx, s)),
            TransferBatch::Deliveries(all) => all.iter().try_for_each(|d| access::import_delivery(tx, d)),
            TransferBatch::Plans(records) => records.iter().try_for_each(|record| import_plan(tx, record)),
            TransferBatch::History(records) => records.iter().try_for_each(|record| import_history(tx, record)),
            TransferBatch::Images(records) => records.iter().try_for_each(|record| {
                let size = i64::try_from(record.image.bytes.len()).unwrap_or(i64::MAX);
                tx.execute(
                    "INSERT INTO chart_images (digest, content_type, size, bytes, stored_at) VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &record.image.digest.as_str(),
                        &record.image.content_type,
                        &size,
                        &record.image.bytes,
                        &record.stored_at,
                    ],
                )
                .map(drop)
                .map_err(repo_error)
            }),
            TransferBatch::Links(records) => records.iter().try_for_each(|record| {
                tx.execute(
                    "INSERT INTO chart_image_links (source_key, digest, linked_at) VALUES ($1, $2, $3)",
                    &[&record.source_key, &record.digest.as_str(), &record.linked_at],
                )
                .map(drop)
                .map_err(repo_error)
            }),
            TransferBatch::Status(entries) => entries.iter().try_for_each(|entry| {
                tx.execute(
                    "INSERT INTO runtime_status (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO \
                     UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    &[&entry.key, &entry.record.value, &entry.record.updated_at],
                )
                .map(drop)
                .map_err(repo_error)
            }),
        })
    }

    fn finish_import(&self) -> Result<(), RepoError> {
        self.write(|tx| {
            for sql in [
                "SELECT setval(pg_get_serial_sequence('plans', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM plans",
                "SELECT setval(pg_get_serial_sequence('charts', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM charts",
                "SELECT setval(pg_get_serial_sequence('plan_history', 'id'), COALESCE(MAX(id), 0) + 1, false) \
                 FROM plan_history",
                "SELECT setval(pg_get_serial_sequence('api_tokens', 'id'), COALESCE(MAX(id), 0) + 1, false) \
                 FROM api_tokens",
                "SELECT setval(pg_get_serial_sequence('webhook_subscriptions', 'id'), COALESCE(MAX(id), 0) + 1, false) \
                 FROM webhook_subscriptions",
                "SELECT setval(pg_get_serial_sequence('webhook_deliveries', 'id'), COALESCE(MAX(id), 0) + 1, false) \
                 FROM webhook_deliveries",
            ] {
                tx.query_one(sql, &[]).map_err(repo_error)?;
            }
            Ok(())
        })
    }

    /// The database's name on its server, the server known by when it started and its port (the same whichever
    /// host name or address reached it).
    fn identity(&self) -> Result<String, RepoError> {
        self.read(|tx| {
            let row = tx
                .query_one(
                    "SELECT current_database(), pg_postmaster_start_time()::text, \
                     coalesce(inet_server_port(), current_setting('port')::int)",
                    &[],
                )
                .map_err(repo_error)?;
            let (name, started, port): (String, String, i32) = (get(&row, 0)?, get(&row, 1)?, get(&row, 2)?);
            Ok(format!("postgres database {name} on the server started {started} on port {port}"))
        })
    }

    fn clear(&self) -> Result<(), RepoError> {
        self.write(|tx| {
            tx.execute(
                "TRUNCATE chart_image_links, chart_images, plan_tickers, charts, plan_history, plans, runtime_status, \
                 webhook_deliveries, webhook_subscriptions, api_tokens RESTART IDENTITY",
                &[],
            )
            .map(drop)
            .map_err(repo_error)
        })
    }
}

fn import_plan(tx: &mut Tx<'_>, record: &PlanRecord) -> Result<(), RepoError> {
    let plan = &record.plan;
    let tickers: Vec<&str> = plan.tickers.iter().map(core_model::Ticker::as_str).collect();
    let version = i32::try_from(plan.version).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO plans (id, coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, \
         message_id, version, created_at, updated_at, deleted_at, import_key, tickers, import_digest, words) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::text::tsvector)",
        &[
            &plan.id.0,
            &plan.coach.as_str(),
            &plan.date.date(),
            &plan.text,
            &opt_id_to_sql(plan.author.user_id.map(|u| u.0))?,
            &plan.author.display_name,
            &opt_id_to_sql(plan.source.guild_id)?,
            &opt_id_to_sql(plan.source.channel_id)?,
            &plan.source.channel_name,
            &opt_id_to_sql(plan.source.message_id)?,
            &version,
            &plan.created_at,
            &plan.updated_at,
            &plan.deleted_at,
            &record.import_key,
            &tickers.join(" "),
            &record.import_digest,
            &words::tsvector(&plan.text),
        ],
    )
    .map_err(repo_error)?;
    if !tickers.is_empty() {
        tx.execute(
            "INSERT INTO plan_tickers (plan_id, ticker) SELECT $1, t FROM unnest($2::text[]) AS t ON CONFLICT DO NOTHING",
            &[&plan.id.0, &tickers],
        )
        .map_err(repo_error)?;
    }
    for (chart, key) in plan.charts.iter().zip(record.chart_import_keys.iter().chain(std::iter::repeat(&None))) {
        let position = i32::try_from(chart.position).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO charts (plan_id, position, url, filename, content_type, kind, added_at, import_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &plan.id.0,
                &position,
                &chart.url,
                &chart.filename,
                &chart.content_type,
                &chart.kind.as_str(),
                &chart.added_at,
                key,
            ],
        )
        .map_err(repo_error)?;
    }
    Ok(())
}

fn import_history(tx: &mut Tx<'_>, record: &HistoryRecord) -> Result<(), RepoError> {
    let entry = &record.entry;
    let version = i32::try_from(entry.version).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO plan_history (id, plan_id, coach, trading_date, version, action, text_before, text_after, \
         actor_id, actor_name, at, import_key, message_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[
            &entry.id,
            &entry.plan_id.0,
            &entry.coach.as_str(),
            &entry.date.date(),
            &version,
            &entry.action.as_str(),
            &entry.text_before,
            &entry.text_after,
            &opt_id_to_sql(entry.actor.user_id.map(|u| u.0))?,
            &entry.actor.display_name,
            &entry.at,
            &record.import_key,
            &opt_id_to_sql(entry.message_id)?,
        ],
    )
    .map(drop)
    .map_err(repo_error)
}
