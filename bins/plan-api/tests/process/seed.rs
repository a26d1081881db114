//! A database with what agents meet: plans posted from Discord with an attached chart (archived) and a TradingView
//! link, edited, deleted and posted again, and one imported from the predecessor.

use std::path::Path;

use core_model::jiff::Timestamp;
use core_model::{
    Author, ChartImage, ChartImageStore as _, ChartKind, CoachId, NewChart, NewPlan, PlanChange, PlanRepository as _,
    PlanSource, PlanText, TradingDate, UserId,
};
use storage::{SqliteStore, StoreOptions};

/// The date the OpenAPI document's examples name (`2025-11-10`), so that example requests find plans.
pub const EXAMPLE_DATE: &str = "2025-11-10";

/// The archived chart image of coach d's plans.
pub const CHART_PNG: &[u8] = include_bytes!("../../../plan-server/assets/demo-chart.png");

/// Plans of coaches d, i and s on each of `dates` (n has none): posted by a Discord user with an attached chart
/// (archived) and a TradingView link, edited, one deleted and posted again, one imported from the predecessor (a name,
/// no user id, no source). Returns the archived image's digest.
pub fn seed(db: &Path, dates: &[&str]) -> String {
    let store = SqliteStore::open(db, StoreOptions::default()).unwrap();
    let coach = |id: &str| CoachId::new(id).unwrap();
    let text = |t: &str| PlanText::new(t).unwrap();
    let ann = Author { user_id: Some(UserId(412_345_678_901_234_567)), display_name: "Ann".into() };
    let imported = Author { user_id: None, display_name: "old_bob".into() };
    let source = PlanSource {
        guild_id: Some(1),
        channel_id: Some(2),
        channel_name: Some("trading-plans".into()),
        message_id: Some(3),
    };
    let png = ChartImage::new("image/png", CHART_PNG.to_vec());
    let attachment_url = "https://cdn.discordapp.com/attachments/2/9/spy.png";
    let charts = || {
        vec![
            NewChart {
                url: format!("{attachment_url}?ex=1&is=2&hm=3"),
                filename: Some("spy.png".into()),
                content_type: Some("image/png".into()),
                kind: ChartKind::Attachment,
            },
            NewChart {
                url: "https://www.tradingview.com/x/AbC123/".into(),
                filename: None,
                content_type: None,
                kind: ChartKind::Link,
            },
        ]
    };
    let mut at = Timestamp::from_second(1_762_700_000).unwrap();
    let mut next = || {
        at = at.checked_add(jiff_seconds(90)).unwrap();
        at
    };
    for date in dates {
        let date = TradingDate::parse(date).unwrap();
        let plan = |c: &str, author: &Author, t: &str, charts: Vec<NewChart>, source: PlanSource| NewPlan {
            coach: coach(c),
            date,
            text: text(t),
            author: author.clone(),
            source,
            charts,
        };
        let d = store.insert(plan("d", &ann, "SPY long above 512.40, stop 510.80", charts(), source.clone()), next());
        let d = d.unwrap().id;
        store
            .change(d, PlanChange::Edit { text: text("SPY long above 512.60"), charts: None }, &ann, next(), None)
            .unwrap();
        let i = store.insert(plan("i", &ann, "QQQ fade the open", Vec::new(), source.clone()), next()).unwrap().id;
        store.change(i, PlanChange::Delete, &ann, next(), None).unwrap();
        store.insert(plan("i", &ann, "QQQ: wait for 10:00", Vec::new(), source.clone()), next()).unwrap();
        store.insert(plan("s", &imported, "NVDA swing, imported", Vec::new(), PlanSource::default()), next()).unwrap();
    }
    store.put_chart_image(attachment_url, &png, next()).unwrap();
    png.digest.to_string()
}

fn jiff_seconds(seconds: i64) -> core_model::jiff::SignedDuration {
    core_model::jiff::SignedDuration::from_secs(seconds)
}
