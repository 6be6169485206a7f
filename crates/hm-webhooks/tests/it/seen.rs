//! The in-memory seen-id store, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use hm_webhooks::{Claim, InMemorySeenStore, SeenStore};
use tokio::time::advance;

#[tokio::test(start_paused = true)]
async fn a_delivery_is_claimed_once_and_processed_once() {
    let store = InMemorySeenStore::new();
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::InProgress);
    assert_eq!(store.claim("d-2").await.unwrap(), Claim::New);
    store.complete("d-1").await.unwrap();
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
    assert_eq!(store.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_released_claim_lets_the_retry_through_but_a_processed_id_stays() {
    let store = InMemorySeenStore::new();
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
    store.release("d-1");
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
    store.complete("d-1").await.unwrap();
    store.release("d-1"); // a late release must not forget a processed id
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
}

#[tokio::test(start_paused = true)]
async fn processed_ids_are_forgotten_after_the_window() {
    let store = InMemorySeenStore::new().window(Duration::from_secs(3600));
    store.claim("d-1").await.unwrap();
    store.complete("d-1").await.unwrap();
    advance(Duration::from_secs(3599)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
    advance(Duration::from_secs(1)).await;
    assert!(store.is_empty());
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
}

#[tokio::test(start_paused = true)]
async fn the_default_window_is_a_day() {
    let store = InMemorySeenStore::new();
    store.complete("d-1").await.unwrap();
    advance(Duration::from_secs(24 * 3600 - 1)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
    advance(Duration::from_secs(1)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_claim_expires_after_the_lease() {
    let store = InMemorySeenStore::new().lease(Duration::from_secs(30));
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
    advance(Duration::from_secs(29)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::InProgress);
    advance(Duration::from_secs(1)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
}

#[tokio::test(start_paused = true)]
async fn completing_replaces_the_lease_with_the_window() {
    let store = InMemorySeenStore::new()
        .lease(Duration::from_secs(30))
        .window(Duration::from_secs(600));
    store.claim("d-1").await.unwrap();
    advance(Duration::from_secs(20)).await;
    store.complete("d-1").await.unwrap();
    advance(Duration::from_secs(599)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
}

#[tokio::test(start_paused = true)]
async fn the_store_is_bounded_and_evicts_the_id_closest_to_expiry() {
    let store = InMemorySeenStore::new()
        .capacity(3)
        .lease(Duration::from_secs(60))
        .window(Duration::from_secs(3600));
    store.complete("processed-early").await.unwrap();
    advance(Duration::from_secs(1)).await;
    store.complete("processed-late").await.unwrap();
    store.claim("claimed").await.unwrap(); // expires first: the lease is shorter than the window
    assert_eq!(store.len(), 3);

    assert_eq!(store.claim("newcomer").await.unwrap(), Claim::New);
    assert_eq!(store.len(), 3);
    // "claimed" was evicted, so it is new again (and evicts "newcomer", now closest to expiry).
    assert_eq!(store.claim("claimed").await.unwrap(), Claim::New);
    assert_eq!(
        store.claim("processed-early").await.unwrap(),
        Claim::Processed
    );
    assert_eq!(
        store.claim("processed-late").await.unwrap(),
        Claim::Processed
    );

    // A storm of new ids never grows the store.
    for n in 0..1000 {
        store.claim(&format!("storm-{n}")).await.unwrap();
        store.complete(&format!("storm-{n}")).await.unwrap();
    }
    assert_eq!(store.len(), 3);
    // The most recently processed ids are the ones kept.
    for n in 997..1000 {
        assert_eq!(
            store.claim(&format!("storm-{n}")).await.unwrap(),
            Claim::Processed
        );
    }
    assert_eq!(store.claim("processed-late").await.unwrap(), Claim::New);
}

#[tokio::test(start_paused = true)]
async fn expired_ids_make_room_before_anything_is_evicted() {
    let store = InMemorySeenStore::new()
        .capacity(2)
        .window(Duration::from_secs(10));
    store.complete("old").await.unwrap();
    advance(Duration::from_secs(5)).await;
    store.complete("recent").await.unwrap();
    advance(Duration::from_secs(5)).await; // "old" has expired
    store.claim("new").await.unwrap();
    assert_eq!(store.claim("recent").await.unwrap(), Claim::Processed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_of_one_id_have_a_single_winner() {
    let store = Arc::new(InMemorySeenStore::new());
    let claims = (0..64).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim("d-1").await.unwrap() })
    });
    let mut new = 0;
    for claim in claims {
        if claim.await.unwrap() == Claim::New {
            new += 1;
        }
    }
    assert_eq!(new, 1);
}

#[tokio::test]
async fn the_store_works_through_the_trait_object() {
    let store: Arc<dyn SeenStore> = Arc::new(InMemorySeenStore::new());
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::New);
    store.complete("d-1").await.unwrap();
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
}
