//! Zero loss, proven: connection cuts, a broker restart, and a consumer killed in a shared group.

use std::convert::Infallible;
use std::time::Duration;

use hm_stream::{Consumer, Delivery, Stats};

use crate::common::pki::TestPki;
use crate::require_mosquitto;
use crate::support::broker::Mosquitto;
use crate::support::proxy::ChaosProxy;
use crate::support::publisher::Publisher;
use crate::support::*;

const TIMEOUT: Duration = Duration::from_secs(120);

fn id(i: usize) -> String {
    format!("msg-{i:05}")
}

/// A consumer whose handler records each message and waits at `gate` first.
fn spawn(
    consumer: Consumer,
    handled: &[Handled],
    gate: &Gate,
) -> (Stats, tokio::task::JoinHandle<Result<(), hm_stream::Error>>) {
    let stats = consumer.stats();
    let (handled, gate) = (handled.to_vec(), gate.clone());
    let task = tokio::spawn(consumer.run(move |delivery: Delivery| {
        let (handled, gate) = (handled.clone(), gate.clone());
        async move {
            gate.pass().await;
            for record in &handled {
                record.record(&delivery.message_id);
            }
            Ok::<_, Infallible>(())
        }
    }));
    (stats, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_survive_twenty_cuts_and_a_broker_restart() {
    let binary = require_mosquitto!();
    const BATCHES: usize = 20;
    const PER_BATCH: usize = 500;
    const WINDOW: u64 = 16;

    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let mut broker = Mosquitto::start(&binary, &pki, dir.path()).await;
    let proxy = ChaosProxy::start(broker.port()).await;
    let mut publisher = Publisher::connect(broker.port(), &pki, "zero-loss-publisher").await;
    let handled = Handled::default();
    let gate = Gate::open();
    let consumer = Consumer::new(
        config(&proxy.url(), &pki, "zero-loss")
            .max_in_flight(WINDOW as usize)
            .concurrency(4),
    )
    .unwrap();
    let (stats, run) = spawn(consumer, std::slice::from_ref(&handled), &gate);
    wait_stats(&stats, "the subscription", |s| s.subscriptions == 1).await;

    let mut upstream_copies = 0u64;
    for batch in 0..BATCHES {
        let ids = batch * PER_BATCH..(batch + 1) * PER_BATCH;
        let (connected_half, offline_half) = (
            ids.start..ids.start + PER_BATCH / 2,
            ids.start + PER_BATCH / 2..ids.end,
        );
        // Handlers hold their messages: at the cut, a full window is received and unacknowledged.
        gate.set(false);
        for i in connected_half {
            publisher.publish(&topic(), message(&id(i), i % 50)).await;
            if i % 97 == 0 {
                // At least once upstream: the same message_id published twice.
                publisher.publish(&topic(), message(&id(i), i % 50)).await;
                upstream_copies += 1;
            }
        }
        publisher.flush().await;
        wait_stats(&stats, "a full window before the cut", |s| {
            s.in_flight == WINDOW
        })
        .await;
        proxy.refuse(true);
        proxy.cut();
        if batch == BATCHES / 2 {
            broker.restart().await;
        }
        // Published while the consumer is away: the broker keeps them in its session.
        for i in offline_half {
            publisher.publish(&topic(), message(&id(i), i % 50)).await;
        }
        publisher.flush().await;
        proxy.refuse(false);
        gate.set(true);
        let expected = ids.end;
        assert!(
            wait_for(TIMEOUT, || handled.distinct() == expected).await,
            "batch {batch}: {} of {expected} message ids handled; {:?}\nbroker log:\n{}",
            handled.distinct(),
            stats.snapshot(),
            broker.log()
        );
    }

    let counts = handled.snapshot();
    let lost: Vec<_> = (0..BATCHES * PER_BATCH)
        .map(id)
        .filter(|id| !counts.contains_key(id))
        .collect();
    assert!(lost.is_empty(), "lost: {lost:?}");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    let stats = stats.snapshot();
    assert!(stats.connections > BATCHES as u64, "{stats:?}");
    assert!(
        stats.duplicates >= upstream_copies + BATCHES as u64,
        "redeliveries after the cuts were not dropped: {stats:?}, {upstream_copies} upstream copies"
    );
    assert_eq!(stats.bad, 0);
    eprintln!(
        "zero loss: {} messages, {} cuts + 1 broker restart, {} connections, {} duplicates dropped \
         ({upstream_copies} published twice upstream), 0 lost, 0 handled twice",
        counts.len(),
        BATCHES,
        stats.connections,
        stats.duplicates
    );
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_consumers_share_the_stream_and_one_is_killed_midway() {
    let binary = require_mosquitto!();
    const TOTAL: usize = 3000;

    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new();
    let broker = Mosquitto::start(&binary, &pki, dir.path()).await;
    let mut publisher = Publisher::connect(broker.port(), &pki, "shared-publisher").await;
    let all = Handled::default();
    let per_replica: Vec<Handled> = (0..3).map(|_| Handled::default()).collect();
    let replica = |i: usize| {
        Consumer::new(
            config(&broker.url(), &pki, &format!("replica-{i}"))
                .share_group("fleet")
                .max_in_flight(8),
        )
        .unwrap()
    };
    let open = Gate::open();
    let stuck = Gate::open();
    let mut runs = Vec::new();
    let mut stats = Vec::new();
    for (i, record) in per_replica.iter().enumerate() {
        let gate = if i == 1 { &stuck } else { &open };
        let (s, run) = spawn(replica(i), &[all.clone(), record.clone()], gate);
        wait_stats(&s, "the subscription", |s| s.subscriptions == 1).await;
        stats.push(s);
        runs.push(run);
    }

    // Phase 1: all three share the work.
    for i in 0..1000 {
        publisher.publish(&topic(), message(&id(i), i % 40)).await;
    }
    assert!(
        wait_for(TIMEOUT, || all.distinct() == 1000).await,
        "{}",
        all.distinct()
    );
    for (i, replica) in per_replica.iter().enumerate() {
        assert!(replica.distinct() > 0, "replica {i} got no share");
    }

    // Phase 2: replica 1 hangs with a full window of unacknowledged messages and is killed.
    stuck.set(false);
    for i in 1000..1500 {
        publisher.publish(&topic(), message(&id(i), i % 40)).await;
    }
    wait_stats(&stats[1], "replica 1's full window", |s| s.in_flight == 8).await;
    runs[1].abort();
    let killed_at = per_replica[1].distinct();

    // Phase 3: the survivors go on (with at least their two thirds of the new messages).
    for i in 1500..TOTAL {
        publisher.publish(&topic(), message(&id(i), i % 40)).await;
    }
    publisher.flush().await;
    let phase_3 = |replica: &Handled| (1500..TOTAL).filter(|&i| replica.count(&id(i)) > 0).count();
    assert!(
        wait_for(TIMEOUT, || phase_3(&per_replica[0])
            + phase_3(&per_replica[2])
            >= 1000)
        .await,
        "the surviving replicas stopped receiving: {} + {}",
        phase_3(&per_replica[0]),
        phase_3(&per_replica[2])
    );

    // Replica 1's unacknowledged messages wait in its session: a replacement with its client id
    // (what an orchestrator starts) receives them.
    let replacement = Handled::default();
    let (_, run) = spawn(replica(1), &[all.clone(), replacement.clone()], &open);
    runs.push(run);
    assert!(
        wait_for(TIMEOUT, || all.distinct() == TOTAL).await,
        "lost {} of {TOTAL}",
        TOTAL - all.distinct()
    );
    assert_eq!(
        per_replica[1].distinct(),
        killed_at,
        "the killed replica handled more"
    );
    eprintln!(
        "shared subscription: {TOTAL} messages, 0 lost; replica 0: {}, replica 1 before being killed: \
         {killed_at}, replica 2: {}, replica 1's replacement: {} (its session's unacknowledged and \
         queued messages)",
        per_replica[0].distinct(),
        per_replica[2].distinct(),
        replacement.distinct()
    );
    for run in runs {
        run.abort();
    }
}
