//! TLS to the server with rustls: with `sslmode=require` and the CA of the test server's certificate the store
//! connects over TLS (the server says so for each of its connections); without a trusted CA it refuses to connect,
//! saying what to give, without the password.

use storage_postgres::{DatabaseUrl, PgOpenError, PgOptions, PgStore};

use crate::helpers::{database, raw};

#[test]
fn a_verified_tls_connection_is_used_when_asked_for() {
    let Some(db) = database() else { return };
    let url = DatabaseUrl::parse(&format!("{}&application_name=tls-test", db.tls_url())).unwrap();
    let store = PgStore::open(&url, PgOptions::default()).unwrap();
    core_model::PlanRepository::ping(&store).unwrap();
    let mut admin = raw(&db);
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid \
             WHERE a.application_name = 'tls-test' AND a.datname = current_database()",
            &[],
        )
        .unwrap();
    assert!(!rows.is_empty(), "the store's connections are open");
    assert!(rows.iter().all(|row| row.get::<_, bool>(0)), "every connection of the store uses TLS");
}

#[test]
fn an_untrusted_certificate_is_refused_with_what_to_give() {
    let Some(db) = database() else { return };
    // The system's roots do not include the test server's CA.
    let untrusted = format!("{}&sslmode=require", db.url());
    let err = PgStore::open(&DatabaseUrl::parse(&untrusted).unwrap(), PgOptions::default()).unwrap_err();
    assert!(matches!(err, PgOpenError::Certificate { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("its TLS certificate is not trusted; give the PEM file of the CA"), "{text}");
    assert!(!text.contains("pg-7Rt2") && !format!("{err:?}").contains("pg-7Rt2"), "{text}");
}
