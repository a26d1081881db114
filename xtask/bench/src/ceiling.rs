//! The ceiling of the `api` suite: a bare actix-web server answering `GET /{name}` with a fixed JSON body, as fast
//! as actix can on this machine. No middleware, no logging, no storage: what is left between it and plan-api is
//! the product's own cost.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::header::ContentType;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};
use anyhow::{Context as _, Result};

/// Serves each `(name, file)` body at `/{name}` on 127.0.0.1 with `workers` workers (as plan-api: one per core by
/// default); prints `ceiling listening on ADDR` once bound, then serves until killed.
///
/// # Errors
/// When a body cannot be read or the port cannot be bound.
pub fn serve(bodies: Vec<(String, PathBuf)>, workers: usize) -> Result<()> {
    let mut table = HashMap::new();
    for (name, file) in bodies {
        let body = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        table.insert(name, Bytes::from(body));
    }
    let table = Arc::new(table);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let table = Arc::clone(&table);
            App::new().route(
                "/{name}",
                web::get().to(move |name: web::Path<String>| {
                    let body = table.get(name.as_str()).cloned();
                    async move {
                        match body {
                            Some(body) => HttpResponse::Ok().insert_header(ContentType::json()).body(body),
                            None => HttpResponse::NotFound().finish(),
                        }
                    }
                }),
            )
        })
        .workers(workers)
        .bind(("127.0.0.1", 0))?;
        let address = server.addrs().first().copied().context("the ceiling bound no address")?;
        println!("ceiling listening on {address}");
        server.run().await?;
        Ok(())
    })
}
