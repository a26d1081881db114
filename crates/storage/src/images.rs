//! The archived chart images ([`ChartImageStore`]): each file once, under its digest, and a link from each chart's
//! source key to it. Writes are one transaction each; reads of many keys are one transaction.

use core_model::jiff::Timestamp;
use core_model::{ArchivedImage, ChartImage, ChartImageStore, ImageDigest, RepoError};
use rusqlite::{OptionalExtension as _, params};

use crate::error::repo_error;
use crate::store::SqliteStore;
use crate::timestamp;

fn bad_digest(column: usize, error: core_model::BadImageDigest) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(error))
}

impl ChartImageStore for SqliteStore {
    fn put_chart_image(&self, source_key: &str, image: &ChartImage, at: Timestamp) -> Result<(), RepoError> {
        let at = timestamp::to_text(at);
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO chart_images (digest, content_type, size, bytes, stored_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (digest) DO NOTHING",
            )
            .and_then(|mut stmt| {
                let size = i64::try_from(image.bytes.len()).unwrap_or(i64::MAX);
                stmt.execute(params![image.digest.as_str(), image.content_type, size, image.bytes, at])
            })
            .map_err(repo_error)?;
            tx.prepare_cached(
                "INSERT INTO chart_image_links (source_key, digest, linked_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (source_key) DO UPDATE SET digest = excluded.digest, linked_at = excluded.linked_at \
                 WHERE digest <> excluded.digest",
            )
            .and_then(|mut stmt| stmt.execute(params![source_key, image.digest.as_str(), at]))
            .map_err(repo_error)?;
            Ok(())
        })
    }

    fn chart_images(&self, source_keys: &[&str]) -> Result<Vec<(String, ArchivedImage)>, RepoError> {
        if source_keys.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT i.digest, i.content_type, i.size FROM chart_image_links l \
                 JOIN chart_images i ON i.digest = l.digest WHERE l.source_key = ?1",
            )?;
            let mut found = Vec::new();
            for key in source_keys {
                let image = stmt
                    .query_row([key], |row| {
                        let digest: String = row.get(0)?;
                        let size: i64 = row.get(2)?;
                        Ok(ArchivedImage {
                            digest: ImageDigest::parse(&digest).map_err(|e| bad_digest(0, e))?,
                            content_type: row.get(1)?,
                            size: u64::try_from(size).unwrap_or(0),
                        })
                    })
                    .optional()?;
                if let Some(image) = image {
                    found.push(((*key).to_owned(), image));
                }
            }
            Ok(found)
        })
    }

    fn image(&self, digest: &ImageDigest) -> Result<Option<ChartImage>, RepoError> {
        self.read(|conn| {
            conn.prepare_cached("SELECT content_type, bytes FROM chart_images WHERE digest = ?1")?
                .query_row([digest.as_str()], |row| {
                    Ok(ChartImage { digest: digest.clone(), content_type: row.get(0)?, bytes: row.get(1)? })
                })
                .optional()
        })
    }
}
