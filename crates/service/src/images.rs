//! Archived chart images: the bot keeps a copy of each image attached to a plan (Discord's attachment links expire),
//! and readers find a chart's copy through its source key.

use std::collections::HashMap;
use std::sync::Arc;

use core_model::image::source_key;
use core_model::{ArchivedImage, ChartImage, ChartImageStore, ChartKind, ImageDigest, Plan};

use crate::{PlanService, ServiceError, run_blocking};

impl PlanService {
    /// The service with a store for chart images; without one, nothing is archived and no chart has a copy.
    #[must_use]
    pub fn with_chart_images(mut self, images: Arc<dyn ChartImageStore>) -> Self {
        self.images = Some(images);
        self
    }

    /// Whether chart images can be archived.
    pub fn archives_chart_images(&self) -> bool {
        self.images.is_some()
    }

    /// Keeps `image` as the copy of the chart at `url` (an attachment link; its query is ignored). Returns whether it
    /// was kept (`false` when the service has no image store).
    ///
    /// # Errors
    /// [`ServiceError::Unwritable`] or [`ServiceError::Busy`] when storage cannot take it.
    pub async fn archive_chart_image(&self, url: &str, image: ChartImage) -> Result<bool, ServiceError> {
        let Some(images) = self.images.clone() else { return Ok(false) };
        let (key, at) = (source_key(url).to_owned(), self.now());
        let kept = run_blocking(move || images.put_chart_image(&key, &image, at)).await;
        self.changes.wrote();
        kept.map_err(ServiceError::from_repo)?;
        Ok(true)
    }

    /// The archived copies of the attachment charts of `plans`, by [source key](core_model::image::source_key).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn archived_images(&self, plans: &[Plan]) -> Result<HashMap<String, ArchivedImage>, ServiceError> {
        let Some(images) = self.images.clone() else { return Ok(HashMap::new()) };
        let keys: Vec<String> = plans
            .iter()
            .flat_map(|p| &p.charts)
            .filter(|c| c.kind == ChartKind::Attachment)
            .map(|c| source_key(&c.url).to_owned())
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let found = run_blocking(move || {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            images.chart_images(&keys)
        })
        .await
        .map_err(ServiceError::from_repo)?;
        Ok(found.into_iter().collect())
    }

    /// An archived image with its bytes; `None` when none has that digest.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn chart_image(&self, digest: &ImageDigest) -> Result<Option<ChartImage>, ServiceError> {
        let Some(images) = self.images.clone() else { return Ok(None) };
        let digest = digest.clone();
        run_blocking(move || images.image(&digest)).await.map_err(ServiceError::from_repo)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use core_model::jiff::Timestamp;
    use core_model::memory::MemoryStore;
    use core_model::{Chart, ChartImage, ChartKind, CoachId, Plan, PlanId, PlanSource, SystemClock, TradingDate};

    use crate::{PlanService, Policy};

    fn plan(charts: &[(&str, ChartKind)]) -> Plan {
        Plan {
            id: PlanId(1),
            coach: CoachId::new("d").unwrap(),
            date: TradingDate::parse("2025-11-10").unwrap(),
            text: "Long".into(),
            author: core_model::Author { user_id: None, display_name: "Ann".into() },
            source: PlanSource::default(),
            charts: charts
                .iter()
                .zip(0..)
                .map(|((url, kind), position)| Chart {
                    position,
                    url: (*url).to_owned(),
                    filename: None,
                    content_type: None,
                    kind: *kind,
                    added_at: Timestamp::UNIX_EPOCH,
                })
                .collect(),
            tickers: Vec::new(),
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            deleted_at: None,
        }
    }

    #[tokio::test]
    async fn attachment_charts_find_their_copy_whatever_the_link_signature() {
        let store = Arc::new(MemoryStore::new());
        let service = PlanService::new(store.clone(), store.clone(), Arc::new(SystemClock), Policy::default())
            .with_chart_images(store);
        let image = ChartImage::new("image/png", vec![7; 100]);
        let posted = "https://cdn.discordapp.com/attachments/1/2/spy.png?ex=1&is=2&hm=aa";
        assert!(service.archive_chart_image(posted, image.clone()).await.unwrap());
        let resigned = "https://cdn.discordapp.com/attachments/1/2/spy.png?ex=5&is=6&hm=bb";
        let link = "https://cdn.discordapp.com/attachments/1/2/spy.png";
        let found =
            service.archived_images(&[plan(&[(resigned, ChartKind::Attachment), (link, ChartKind::Link)])]).await;
        let found = found.unwrap();
        assert_eq!(found.len(), 1, "links written in the text are not archived copies: {found:?}");
        assert_eq!(found.get(link), Some(&image.info()));
        assert_eq!(service.chart_image(&image.digest).await.unwrap(), Some(image));
    }

    #[tokio::test]
    async fn without_an_image_store_nothing_is_archived() {
        let store = Arc::new(MemoryStore::new());
        let service = PlanService::new(store.clone(), store, Arc::new(SystemClock), Policy::default());
        let image = ChartImage::new("image/png", vec![1]);
        assert!(!service.archives_chart_images());
        assert!(!service.archive_chart_image("https://x/a.png", image.clone()).await.unwrap());
        assert!(
            service.archived_images(&[plan(&[("https://x/a.png", ChartKind::Attachment)])]).await.unwrap().is_empty()
        );
        assert_eq!(service.chart_image(&image.digest).await.unwrap(), None);
    }
}
