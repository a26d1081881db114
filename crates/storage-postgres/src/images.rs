//! The archived chart images ([`ChartImageStore`]): each file once, under its digest, and a link from each chart's
//! source key to it. Writes are one transaction each; reads of many keys are one statement.

use core_model::jiff::Timestamp;
use core_model::{ArchivedImage, ChartImage, ChartImageStore, ImageDigest, RepoError};

use crate::error::{BadStoredValue, repo_error};
use crate::rows::to_micros;
use crate::store::PgStore;

impl ChartImageStore for PgStore {
    fn put_chart_image(&self, source_key: &str, image: &ChartImage, at: Timestamp) -> Result<(), RepoError> {
        let at = to_micros(at);
        let size = i64::try_from(image.bytes.len()).unwrap_or(i64::MAX);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO chart_images (digest, content_type, size, bytes, stored_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (digest) DO NOTHING",
                &[&image.digest.as_str(), &image.content_type, &size, &image.bytes, &at],
            )
            .map_err(repo_error)?;
            tx.execute(
                "INSERT INTO chart_image_links (source_key, digest, linked_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (source_key) DO UPDATE SET digest = excluded.digest, linked_at = excluded.linked_at \
                 WHERE chart_image_links.digest <> excluded.digest",
                &[&source_key, &image.digest.as_str(), &at],
            )
            .map_err(repo_error)?;
            Ok(())
        })
    }

    fn chart_images(&self, source_keys: &[&str]) -> Result<Vec<(String, ArchivedImage)>, RepoError> {
        if source_keys.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|tx| {
            let rows = tx
                .query(
                    "SELECT l.source_key, i.digest, i.content_type, i.size FROM chart_image_links l \
                     JOIN chart_images i ON i.digest = l.digest WHERE l.source_key = ANY($1)",
                    &[&source_keys],
                )
                .map_err(repo_error)?;
            let mut found: Vec<(String, ArchivedImage)> = rows
                .iter()
                .map(|row| {
                    let digest: String = row.try_get(1).map_err(repo_error)?;
                    let size: i64 = row.try_get(3).map_err(repo_error)?;
                    let image = ArchivedImage {
                        digest: ImageDigest::parse(&digest)
                            .map_err(|_| BadStoredValue { column: "digest", value: digest.clone() })?,
                        content_type: row.try_get(2).map_err(repo_error)?,
                        size: u64::try_from(size).unwrap_or(0),
                    };
                    Ok((row.try_get(0).map_err(repo_error)?, image))
                })
                .collect::<Result<_, RepoError>>()?;
            // In the order asked, as the other adapters answer.
            found.sort_by_key(|(key, _)| source_keys.iter().position(|k| k == key));
            Ok(found)
        })
    }

    fn image(&self, digest: &ImageDigest) -> Result<Option<ChartImage>, RepoError> {
        self.read(|tx| {
            let row = tx
                .query_opt("SELECT content_type, bytes FROM chart_images WHERE digest = $1", &[&digest.as_str()])
                .map_err(repo_error)?;
            row.map(|row| {
                Ok(ChartImage {
                    digest: digest.clone(),
                    content_type: row.try_get(0).map_err(repo_error)?,
                    bytes: row.try_get(1).map_err(repo_error)?,
                })
            })
            .transpose()
        })
    }
}
