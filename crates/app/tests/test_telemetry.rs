//! `init_test_telemetry` installs a global subscriber, so it is tested in its own test binary (its own process).

use std::io;
use std::sync::{Arc, Mutex};

use app::{LogFormat, get_subscriber, init_subscriber, init_test_telemetry};

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_tests_own_subscriber_is_kept_however_often_test_telemetry_is_set_up() {
    let captured = Captured::default();
    let sink = captured.clone();
    init_subscriber(get_subscriber("own", "info", None, LogFormat::Json, move || sink.clone()))
        .expect("the first global subscriber");
    // Every test helper calls it; the test's own subscriber stays, and nothing panics.
    init_test_telemetry();
    init_test_telemetry();
    tracing::info!(plan_id = 7, "seen by the test's own subscriber");
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let record: serde_json::Value = serde_json::from_str(text.lines().last().expect("a log line")).unwrap();
    assert_eq!(
        (record["msg"].as_str(), record["plan_id"].as_u64()),
        (Some("seen by the test's own subscriber"), Some(7))
    );
    assert_eq!(record["name"], "own");
}
