//! The outbox: one delivery per key and sink, leases, retries and dead letters.

use apsync::store::Store;

use super::support::store::t;

struct ScriptedSink {
    answers: std::sync::Mutex<Vec<apsync::outbox::Attempt>>,
    seen: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl apsync::outbox::Sink for ScriptedSink {
    fn channel(&self) -> apsync::store::Channel {
        apsync::store::Channel::Push
    }
    fn id(&self) -> &str {
        "cpoms"
    }
    async fn deliver(&self, d: &apsync::store::Delivery) -> apsync::outbox::Attempt {
        self.seen.lock().unwrap().push(d.idempotency_key.clone());
        self.answers.lock().unwrap().remove(0)
    }
}

pub(crate) async fn outbox_delivers_once_and_dead_letters_keep_the_payload(store: Store) {
    use apsync::outbox::{Attempt, RetryPolicy, dispatch_once};
    use apsync::store::{Channel, NewDelivery};
    let delivery = |key: &str| NewDelivery {
        channel: Channel::Push,
        sink: "cpoms".into(),
        idempotency_key: key.into(),
        subject: format!("visit {key}"),
        payload: serde_json::json!({ "visit": key }),
    };
    let now = t("2026-03-02T10:00:00Z");
    assert!(store.enqueue(&delivery("v1"), now).await.unwrap());
    assert!(
        !store.enqueue(&delivery("v1"), now).await.unwrap(),
        "same key, same sink: one delivery"
    );
    assert!(store.enqueue(&delivery("v2"), now).await.unwrap());

    let sink = ScriptedSink {
        answers: std::sync::Mutex::new(vec![
            Attempt::Retry {
                reason: "503".into(),
                after: None,
                slow: false,
            },
            Attempt::Dead {
                reason: "400 bad field".into(),
            },
            Attempt::Delivered {
                remote_id: Some("R-1".into()),
            },
        ]),
        seen: Default::default(),
    };
    let policy = RetryPolicy::default();
    let first = dispatch_once(&store, &sink, &policy, now).await.unwrap();
    assert_eq!((first.retrying, first.dead), (1, 1));
    // Not due yet: nothing is sent.
    let idle = dispatch_once(&store, &sink, &policy, now + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(idle.delivered + idle.retrying + idle.dead, 0);
    let later = dispatch_once(&store, &sink, &policy, now + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(later.delivered, 1);
    assert_eq!(
        *sink.seen.lock().unwrap(),
        ["v1", "v2", "v1"],
        "the key is the same on every attempt"
    );

    let rows = store.deliveries(false, 10).await.unwrap();
    let v1 = rows.iter().find(|d| d.idempotency_key == "v1").unwrap();
    assert_eq!(
        (v1.status.as_str(), v1.attempts, v1.remote_id.as_deref()),
        ("delivered", 2, Some("R-1"))
    );
    let v2 = rows.iter().find(|d| d.idempotency_key == "v2").unwrap();
    assert_eq!(
        (v2.status.as_str(), v2.last_error.as_deref()),
        ("dead", Some("400 bad field"))
    );
    assert_eq!(
        v2.payload,
        serde_json::json!({ "visit": "v2" }),
        "dead letters keep the payload"
    );

    // Replay the dead letter; a delivered one is never sent again.
    assert!(
        store
            .retry_delivery(v1.id, now)
            .await
            .unwrap_err()
            .to_string()
            .contains("already accepted")
    );
    store.retry_delivery(v2.id, now).await.unwrap();
    let claimed = store
        .claim_due(Channel::Push, "cpoms", 10, chrono::Duration::minutes(5), "a", now)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].idempotency_key, "v2");
    // Leased: a second sender (another replica) does not get it.
    assert!(
        store
            .claim_due(Channel::Push, "cpoms", 10, chrono::Duration::minutes(5), "a", now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.deliveries(true, 10).await.unwrap().len(), 1);
}

pub(crate) async fn leases_of_senders_gone_from_this_host_are_released_and_no_others(store: Store) {
    use apsync::outbox::owner::{LeaseOwner, Seen, probe};
    use apsync::outbox::release_dead_leases;
    use apsync::store::{Channel, NewDelivery};
    let now = t("2026-03-02T10:00:00Z");
    let lease = chrono::Duration::minutes(5);
    let me = LeaseOwner::current().unwrap();
    // A sender that was killed: a process that has exited (its pid free, or taken by another).
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    let exited_pid = exited.id();
    exited.wait().unwrap();
    // A live one, as `apsync sync` run by IT while the daemon runs.
    let mut running = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let Seen::Running { start } = probe(running.id()) else {
        panic!("cannot read /proc/{}/stat", running.id())
    };
    let holders = [
        LeaseOwner {
            pid: exited_pid,
            ..me.clone()
        }
        .to_string(),
        // This process's pid with another start time: the pid was reused, the holder is gone.
        LeaseOwner {
            start: me.start + 1,
            ..me.clone()
        }
        .to_string(),
        LeaseOwner {
            pid: running.id(),
            start,
            ..me.clone()
        }
        .to_string(),
        // A PostgreSQL replica on another host: its pids mean nothing here.
        LeaseOwner {
            host: format!("{}-replica", me.host),
            pid: exited_pid,
            ..me.clone()
        }
        .to_string(),
        // Not an owner this version can read: left to run out.
        "unknown:4242".to_string(),
    ];
    for (i, holder) in holders.iter().enumerate() {
        let key = format!("k{i}");
        let d = NewDelivery {
            channel: Channel::Push,
            sink: "cpoms".into(),
            idempotency_key: key.clone(),
            subject: key,
            payload: serde_json::json!({}),
        };
        assert!(store.enqueue(&d, now).await.unwrap());
        let claimed = store
            .claim_due(Channel::Push, "cpoms", 1, lease, holder, now)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].leased_by.as_deref(), Some(holder.as_str()));
    }

    // The killed sender had begun handing its row to the receiver; the live one has begun too.
    let all = store.deliveries(true, 10).await.unwrap();
    let id = |key: &str| all.iter().find(|d| d.idempotency_key == key).unwrap().id;
    assert!(
        store
            .begin_attempt(id("k0"), &holders[0], now, now + lease)
            .await
            .unwrap()
    );
    assert!(
        store
            .begin_attempt(id("k2"), &holders[2], now, now + lease)
            .await
            .unwrap()
    );
    assert!(
        !store
            .begin_attempt(id("k3"), &holders[2], now, now + lease)
            .await
            .unwrap(),
        "a row another sender holds is never begun"
    );

    let later = now + chrono::Duration::minutes(1);
    let released = release_dead_leases(&store, &me, probe, later).await.unwrap();
    assert_eq!((released.rows, released.in_flight), (2, 1));
    let again = store
        .claim_due(Channel::Push, "cpoms", 10, lease, &me.to_string(), later)
        .await
        .unwrap();
    let keys: Vec<&str> = again.iter().map(|d| d.idempotency_key.as_str()).collect();
    assert_eq!(
        keys,
        ["k0", "k1"],
        "only the rows of the gone senders are due again at once"
    );
    let rows = store.deliveries(true, 10).await.unwrap();
    for (i, holder) in holders.iter().enumerate().skip(2) {
        let row = rows.iter().find(|d| d.idempotency_key == format!("k{i}")).unwrap();
        assert_eq!(row.leased_by.as_deref(), Some(holder.as_str()), "k{i} is still held");
    }
    assert_eq!(
        release_dead_leases(&store, &me, probe, later).await.unwrap().rows,
        0,
        "this process's own leases are never released"
    );
    // The others are due when their leases run out, as before.
    let expired = store
        .claim_due(Channel::Push, "cpoms", 10, lease, &me.to_string(), now + lease)
        .await
        .unwrap();
    assert_eq!(expired.len(), 3);
    running.kill().unwrap();
    running.wait().unwrap();
}

pub(crate) async fn an_acceptance_written_down_before_a_crash_is_not_sent_again(store: Store) {
    use apsync::outbox::receipts::Receipts;
    use apsync::outbox::{Attempt, RetryPolicy, dispatch_once};
    use apsync::store::{Channel, NewDelivery};
    let now = t("2026-03-02T10:00:00Z");
    let lease = chrono::Duration::minutes(5);
    for key in ["accepted", "unknown"] {
        let d = NewDelivery {
            channel: Channel::Push,
            sink: "cpoms".into(),
            idempotency_key: key.into(),
            subject: key.into(),
            payload: serde_json::json!({}),
        };
        assert!(store.enqueue(&d, now).await.unwrap());
    }
    // A sender takes both, begins both, is accepted for the first, writes that down where it
    // can (SQLite), and dies before recording either outcome on the rows.
    let dead = "school-srv:1:2:3";
    let rows = store
        .claim_due(Channel::Push, "cpoms", 10, lease, dead, now)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for d in &rows {
        assert!(store.begin_attempt(d.id, dead, now, now + lease).await.unwrap());
    }
    let receipts = store.sqlite_file().map(|db| Receipts::beside(&db));
    if let Some(r) = &receipts {
        r.record(rows[0].id, now, Some("R-1")).unwrap();
    }
    let released = store.release_leases(dead).await.unwrap();
    assert_eq!((released.rows, released.in_flight), (2, 2));

    let sink = ScriptedSink {
        answers: std::sync::Mutex::new(vec![
            Attempt::Delivered { remote_id: None },
            Attempt::Delivered { remote_id: None },
        ]),
        seen: Default::default(),
    };
    let later = now + chrono::Duration::minutes(1);
    let report = dispatch_once(&store, &sink, &RetryPolicy::default(), later)
        .await
        .unwrap();
    assert_eq!(report.delivered, 2);
    let all = store.deliveries(false, 10).await.unwrap();
    let accepted = all.iter().find(|d| d.idempotency_key == "accepted").unwrap();
    if receipts.is_some() {
        // SQLite: the receipt says the receiver has it; only the other one goes again.
        assert_eq!(*sink.seen.lock().unwrap(), ["unknown"]);
        assert_eq!(accepted.remote_id.as_deref(), Some("R-1"));
    } else {
        // PostgreSQL keeps no receipts (an outcome's write never waits behind other writers):
        // both attempts' outcomes are unknown, so both go again (at least once).
        assert_eq!(*sink.seen.lock().unwrap(), ["accepted", "unknown"]);
    }
    assert!(
        all.iter()
            .all(|d| d.status == "delivered" && d.attempt_started_at.is_none())
    );
}
