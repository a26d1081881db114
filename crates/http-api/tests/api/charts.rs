//! Archived chart images: served by digest, linked from v1 and legacy plan answers instead of Discord's expiring
//! links, with ETags that change when a copy appears.

use core_model::{ChartImage, ImageDigest};
use http_api::ApiConfig;
use reqwest::header;

use crate::helpers::{TODAY, ann, attachment, chart, spawn_app, spawn_app_with};

const SIGNED: &str = "https://cdn.discordapp.com/attachments/20/501/spy.png?ex=6931&is=6930&hm=abcdef";
const TEXT_LINK: &str = "https://www.tradingview.com/x/AbC123/";

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..5000u32).map(|i| (i % 251) as u8));
    bytes
}

#[tokio::test]
async fn an_archived_image_is_served_by_its_digest_and_never_changes() {
    let app = spawn_app().await;
    let image = ChartImage::new("image/png", png());
    assert!(app.service.archive_chart_image(SIGNED, image.clone()).await.unwrap());
    let response = app.get(&format!("/api/v1/charts/{}", image.digest)).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(headers[header::ETAG], format!("\"{}\"", image.digest).as_str());
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(response.bytes().await.unwrap().as_ref(), png().as_slice(), "the bytes as attached");

    let again = app
        .client
        .get(app.url(&format!("/api/v1/charts/{}", image.digest)))
        .header(header::IF_NONE_MATCH, format!("\"{}\"", image.digest))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn unknown_and_malformed_digests_are_json_errors() {
    let app = spawn_app().await;
    let (status, body) = app.get_json(&format!("/api/v1/charts/{}", ImageDigest::of(b"nothing"))).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "not_found");
    for bad in ["abc", "..%2F..%2Fetc%2Fpasswd", &"A".repeat(64)] {
        let (status, body) = app.get_json(&format!("/api/v1/charts/{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains("64 lowercase hexadecimal digits"), "{body}");
    }
}

#[tokio::test]
async fn a_file_that_is_not_an_image_type_is_never_served_as_a_page() {
    let app = spawn_app().await;
    let page = ChartImage::new("text/html", b"<script>alert(1)</script>".to_vec());
    app.service.archive_chart_image(SIGNED, page.clone()).await.unwrap();
    let response = app.get(&format!("/api/v1/charts/{}", page.digest)).await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/octet-stream");
    assert!(response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("sandbox"));
}

#[tokio::test]
async fn plans_point_at_the_copy_and_keep_the_original_link() {
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "Long SPY", vec![attachment(SIGNED), chart(TEXT_LINK)]).await;
    let image = ChartImage::new("image/png", png());

    // Before a copy exists: the original links, in both shapes.
    let (_, plan) = app.get_json("/api/v1/plans/d/today").await;
    assert_eq!(plan["charts"][0]["image_url"], serde_json::Value::Null, "{plan}");
    let (_, legacy) = app.get_json("/api/coach-plans/?coach=d").await;
    assert_eq!(legacy["charts"], serde_json::json!([SIGNED, TEXT_LINK]));
    let before = app.get("/api/v1/plans/d/today").await.headers()[header::ETAG].to_str().unwrap().to_owned();

    // The bot's copy, made under a re-signed form of the same link.
    let resigned = SIGNED.replace("ex=6931&is=6930&hm=abcdef", "ex=7000&is=6999&hm=123456");
    app.service.archive_chart_image(&resigned, image.clone()).await.unwrap();
    let copy = format!("{}/api/v1/charts/{}", app.address, image.digest);
    let (_, plan) = app.get_json("/api/v1/plans/d/today").await;
    assert_eq!(plan["charts"][0]["url"], SIGNED, "the original link stays");
    assert_eq!(plan["charts"][0]["image_url"], copy.as_str());
    assert_eq!(plan["charts"][1]["image_url"], serde_json::Value::Null, "a link in the text has no copy");
    let (_, legacy) = app.get_json("/api/coach-plans/?coach=d").await;
    assert_eq!(legacy["charts"], serde_json::json!([copy, TEXT_LINK]), "the predecessor's shape, with a working link");
    let (_, all) = app.get_json(&format!("/api/coach-plans/all?date={TODAY}")).await;
    assert_eq!(all["coach_d"]["charts"][0], copy.as_str());
    let (_, list) = app.get_json("/api/v1/plans").await;
    assert_eq!(list["plans"][0]["charts"][0]["image_url"], copy.as_str());

    // A client holding the plan from before the copy is told it changed.
    let response =
        app.client.get(app.url("/api/v1/plans/d/today")).header(header::IF_NONE_MATCH, &before).send().await.unwrap();
    assert_eq!(response.status(), 200, "a new copy changes the ETag");
    assert_ne!(response.headers()[header::ETAG].to_str().unwrap(), before);
    let fetched = app.client.get(&copy).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(fetched.as_ref(), png().as_slice());
}

#[tokio::test]
async fn the_configured_public_url_is_used_for_links() {
    let config = ApiConfig { public_url: Some("https://plans.example.com/desk/".into()), ..ApiConfig::default() };
    let app = spawn_app_with(config).await;
    app.post(&ann(), "d", None, "Long SPY", vec![attachment(SIGNED)]).await;
    let image = ChartImage::new("image/png", png());
    app.service.archive_chart_image(SIGNED, image.clone()).await.unwrap();
    let (_, plan) = app.get_json("/api/v1/plans/d/today").await;
    assert_eq!(
        plan["charts"][0]["image_url"],
        format!("https://plans.example.com/desk/api/v1/charts/{}", image.digest)
    );
    // Without one, a forwarded host from the client is not trusted: the link names the Host the client reached.
    let app = spawn_app().await;
    app.post(&ann(), "d", None, "Long SPY", vec![attachment(SIGNED)]).await;
    app.service.archive_chart_image(SIGNED, image.clone()).await.unwrap();
    let response = app
        .client
        .get(app.url("/api/v1/plans/d/today"))
        .header("X-Forwarded-Host", "evil.example.com")
        .send()
        .await
        .unwrap();
    let plan: serde_json::Value = response.json().await.unwrap();
    let link = plan["charts"][0]["image_url"].as_str().unwrap();
    assert!(link.starts_with(&app.address), "{link}");
}
