//! Attack findings about memory, kept as regression tests: what a broker (or whoever publishes on
//! the topic) could make the consumer hold. The bounds hold by construction and the tests check the
//! construction, not the process's memory: a PUBLISH larger than `max_message_bytes` is refused
//! from its header, and the dedup window remembers a fixed-size digest per message (its size is
//! checked by the `dedup` unit tests), so long `message_id`s are not kept.

#[path = "attack_stream/support.rs"]
mod support;

use std::convert::Infallible;
use std::time::Duration;

use hm_stream::{Consumer, DataEnvironment, Delivery, Error, Stats, topic};
use support::{Pki, app};

const MIB: usize = 1024 * 1024;

/// What the consumer's `run` ended with, waiting as long as it takes (the bound only keeps a broken
/// build from hanging).
async fn outcome(run: tokio::task::JoinHandle<Result<(), Error>>) -> Result<(), Error> {
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the consumer stops")
        .expect("join")
}

async fn until(stats: &Stats, done: impl Fn(&hm_stream::StatsSnapshot) -> bool) {
    for _ in 0..3000 {
        if done(&stats.snapshot()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached: {:?}", stats.snapshot());
}

/// `max_message_bytes` used not to bound what was read: the MQTT client accepted packets up to the
/// protocol's 256 MiB and buffered each in full before finding it too large (with up to
/// `max_in_flight` of them held, tens of GB). Now the client refuses a larger packet from its
/// header. The fake broker announces a 200 MiB PUBLISH and never sends its body: a consumer that
/// tried to read it would wait forever instead of stopping with `MessageTooLarge`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_publish_is_refused_from_its_header() {
    const ANNOUNCED: usize = 200 * MIB;
    let pki = Pki::new();
    let port = support::fake_broker(&pki, |mut conn, _| {
        let _ = (|| -> std::io::Result<()> {
            conn.expect(support::CONNECT)?;
            conn.connack(false)?;
            let subscribe = conn.expect(support::SUBSCRIBE)?;
            conn.suback(subscribe.pkid(), 0x01)?;
            // Fixed header with a remaining length of ANNOUNCED, then only the topic.
            let mut header = vec![0x32];
            let mut len = ANNOUNCED;
            while len > 0 {
                let byte = (len % 128) as u8;
                len /= 128;
                header.push(if len > 0 { byte | 0x80 } else { byte });
            }
            let topic = topic(DataEnvironment::Sandbox, app());
            header.extend_from_slice(&(topic.len() as u16).to_be_bytes());
            header.extend_from_slice(topic.as_bytes());
            conn.write(&header)?;
            conn.expect(support::DISCONNECT)?;
            Ok(())
        })();
    });
    let consumer = Consumer::new(pki.config(port).max_message_bytes(MIB)).expect("consumer");
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    let outcome = outcome(run).await;
    assert!(
        matches!(
            outcome,
            Err(Error::MessageTooLarge {
                bytes: ANNOUNCED,
                limit: MIB
            })
        ),
        "{outcome:?}"
    );
}

/// The limit is exact: a payload of `max_message_bytes` is handled, one byte more is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_message_bytes_is_the_exact_limit() {
    const LIMIT: usize = 2000;
    let pki = Pki::new();
    let padded = |id: &str, bytes: usize| {
        let base = support::message(id);
        let padding = bytes - base.len() - r#","pad":"""#.len();
        base.replacen('{', &format!(r#"{{"pad":"{}","#, "x".repeat(padding)), 1)
    };
    let port = support::fake_broker(&pki, move |mut conn, _| {
        let _ = (|| -> std::io::Result<()> {
            conn.expect(support::CONNECT)?;
            conn.connack(false)?;
            let subscribe = conn.expect(support::SUBSCRIBE)?;
            conn.suback(subscribe.pkid(), 0x01)?;
            let topic = topic(DataEnvironment::Sandbox, app());
            conn.publish(1, 1, &topic, padded("at-limit", LIMIT).as_bytes())?;
            conn.expect(support::PUBACK)?;
            conn.publish(1, 2, &topic, padded("over-limit", LIMIT + 1).as_bytes())?;
            conn.expect(support::DISCONNECT)?;
            Ok(())
        })();
    });
    let consumer = Consumer::new(pki.config(port).max_message_bytes(LIMIT)).expect("consumer");
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(|d: Delivery| {
        assert_eq!(d.payload.len(), LIMIT);
        async { Ok::<_, Infallible>(()) }
    }));
    let outcome = outcome(run).await;
    assert!(
        matches!(outcome, Err(Error::MessageTooLarge { limit: LIMIT, .. })),
        "{outcome:?}"
    );
    assert_eq!(stats.snapshot().handled, 1, "{:?}", stats.snapshot());
}

/// The dedup window used to keep every `message_id` in full: ids of 400 KB made its default size of
/// 100,000 hold 40 GB. It now keeps a 16-byte digest per message. Messages with 256 KiB ids are
/// handled once each and their redeliveries recognised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_message_ids_are_deduplicated_by_a_fixed_size_digest() {
    const COUNT: u16 = 8;
    let pki = Pki::new();
    let long = |n: u16| support::message(&format!("{n}-{}", "i".repeat(256 * 1024)));
    let port = support::fake_broker(&pki, move |mut conn, _| {
        let _ = (|| -> std::io::Result<()> {
            conn.expect(support::CONNECT)?;
            conn.connack(false)?;
            let subscribe = conn.expect(support::SUBSCRIBE)?;
            conn.suback(subscribe.pkid(), 0x01)?;
            let topic = topic(DataEnvironment::Sandbox, app());
            for pkid in 1..=COUNT {
                conn.publish(1, pkid, &topic, long(pkid).as_bytes())?;
            }
            // Every message again (as after a reconnection), under new packet ids.
            for pkid in 1..=COUNT {
                conn.publish(1, COUNT + pkid, &topic, long(pkid).as_bytes())?;
            }
            conn.expect(support::DISCONNECT)?;
            Ok(())
        })();
    });
    let consumer = Consumer::new(pki.config(port).max_in_flight(4)).expect("consumer");
    let stats = consumer.stats();
    let run = tokio::spawn(consumer.run(|_: Delivery| async { Ok::<_, Infallible>(()) }));
    until(&stats, |s| s.acked >= u64::from(2 * COUNT)).await;
    let snapshot = stats.snapshot();
    run.abort();
    assert_eq!(
        (snapshot.handled, snapshot.duplicates),
        (u64::from(COUNT), u64::from(COUNT)),
        "{snapshot:?}"
    );
}
