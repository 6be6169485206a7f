//! The in-memory seen-id store, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use hm_webhooks::{Claim, ClaimToken, Error, InMemorySeenStore, SeenStore};
use http::StatusCode;
use tokio::time::advance;

/// The token of a claim that must be new.
fn new(claim: Claim) -> ClaimToken {
    match claim {
        Claim::New(token) => token,
        other => panic!("expected a new claim, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_delivery_is_claimed_once_and_processed_once() {
    let store = InMemorySeenStore::new();
    new(store.claim("d-1").await.unwrap());
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::InProgress);
    new(store.claim("d-2").await.unwrap());
    store.complete("d-1").await.unwrap();
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
    assert_eq!(store.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_released_claim_lets_the_retry_through_but_a_processed_id_stays() {
    let store = InMemorySeenStore::new();
    let first = new(store.claim("d-1").await.unwrap());
    store.release("d-1", first);
    let retry = new(store.claim("d-1").await.unwrap());
    assert_ne!(retry, first);
    store.complete("d-1").await.unwrap();
    store.release("d-1", retry); // a late release must not forget a processed id
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
    new(store.claim("d-1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn the_default_window_is_a_day() {
    let store = InMemorySeenStore::new();
    store.complete("d-1").await.unwrap();
    advance(Duration::from_secs(24 * 3600 - 1)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
    advance(Duration::from_secs(1)).await;
    new(store.claim("d-1").await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_claim_expires_after_the_lease() {
    let store = InMemorySeenStore::new().lease(Duration::from_secs(30));
    new(store.claim("d-1").await.unwrap());
    advance(Duration::from_secs(29)).await;
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::InProgress);
    advance(Duration::from_secs(1)).await;
    new(store.claim("d-1").await.unwrap());
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
async fn the_store_is_bounded_and_evicts_the_processed_id_closest_to_expiry() {
    let store = InMemorySeenStore::new()
        .capacity(3)
        .lease(Duration::from_secs(60))
        .window(Duration::from_secs(3600));
    store.complete("processed-early").await.unwrap();
    advance(Duration::from_secs(1)).await;
    store.complete("processed-late").await.unwrap();
    new(store.claim("claimed").await.unwrap()); // expires first, yet is never evicted
    assert_eq!(store.len(), 3);

    new(store.claim("newcomer").await.unwrap());
    assert_eq!(store.len(), 3);
    // "processed-early" made room; the claim in progress and the later id stayed.
    assert_eq!(store.claim("claimed").await.unwrap(), Claim::InProgress);
    assert_eq!(
        store.claim("processed-late").await.unwrap(),
        Claim::Processed
    );
    new(store.claim("processed-early").await.unwrap()); // forgotten: evicts "processed-late"

    // Three claims in progress: a fourth id cannot be claimed without forgetting one of them.
    let error = store.claim("fourth").await.unwrap_err();
    assert!(
        matches!(error, Error::StoreFull { capacity: 3 }),
        "{error:?}"
    );
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(error.to_string().contains("capacity"), "{error}");
    assert_eq!(store.len(), 3);

    // Completing a claim replaces it in place; a storm of new ids then cycles through the one
    // slot that is not a claim, and never grows the store.
    store.complete("newcomer").await.unwrap();
    for n in 0..1000 {
        new(store.claim(&format!("storm-{n}")).await.unwrap());
        store.complete(&format!("storm-{n}")).await.unwrap();
    }
    assert_eq!(store.len(), 3);
    assert_eq!(store.claim("claimed").await.unwrap(), Claim::InProgress);
    assert_eq!(
        store.claim("processed-early").await.unwrap(),
        Claim::InProgress
    );
    assert_eq!(store.claim("storm-999").await.unwrap(), Claim::Processed);
}

/// Attack finding (regression): at capacity, the claims of deliveries being processed right now
/// (closest to expiry, as the lease is shorter than the window) were evicted first, so a retry
/// arriving meanwhile was processed a second time, concurrently.
#[tokio::test(start_paused = true)]
async fn a_full_store_keeps_claims_in_progress() {
    let store = InMemorySeenStore::new().capacity(3);
    for old in ["old-1", "old-2"] {
        new(store.claim(old).await.unwrap());
        store.complete(old).await.unwrap();
    }
    new(store.claim("a").await.unwrap()); // being processed
    new(store.claim("b").await.unwrap()); // the store was full: "old-1" made room
    assert_eq!(
        store.claim("a").await.unwrap(),
        Claim::InProgress,
        "the retry of a delivery being processed must not be processed again"
    );
    assert_eq!(store.claim("old-2").await.unwrap(), Claim::Processed);
}

/// Attack finding (regression): request A's claim expires, the retry B claims the id anew, then
/// A fails and its guard releases: that release used to drop B's live claim, so the next retry
/// was processed while B still ran. Claims now carry a token and only their own token releases
/// them.
#[tokio::test(start_paused = true)]
async fn a_late_release_does_not_drop_another_requests_claim() {
    let store = InMemorySeenStore::new();
    let a = new(store.claim("d-1").await.unwrap());
    advance(InMemorySeenStore::DEFAULT_LEASE + Duration::from_secs(1)).await;
    let b = new(store.claim("d-1").await.unwrap()); // A's lease expired
    assert_ne!(a, b);
    store.release("d-1", a); // A's guard, dropped after A failed late
    assert_eq!(
        store.claim("d-1").await.unwrap(),
        Claim::InProgress,
        "B still holds the claim: a retry arriving now must not be processed"
    );
    store.release("d-1", b); // B failed: its own token releases its claim
    new(store.claim("d-1").await.unwrap());
}

/// Attack finding (regression): `Instant + Duration::MAX` overflowed and panicked inside `claim`
/// and `complete`. A window or lease beyond the clock's range now means "never expires".
#[tokio::test(start_paused = true)]
async fn a_window_or_lease_of_duration_max_never_expires() {
    const YEARS: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
    let forever = InMemorySeenStore::new().window(Duration::MAX);
    new(forever.claim("d-1").await.unwrap());
    forever.complete("d-1").await.unwrap();
    advance(YEARS).await;
    assert_eq!(forever.claim("d-1").await.unwrap(), Claim::Processed);

    let never_expiring = InMemorySeenStore::new().lease(Duration::MAX);
    let token = new(never_expiring.claim("d-1").await.unwrap());
    advance(YEARS).await;
    assert_eq!(
        never_expiring.claim("d-1").await.unwrap(),
        Claim::InProgress
    );
    // Still released and completed as usual, and expiring entries still expire around it.
    never_expiring.release("d-1", token);
    new(never_expiring.claim("d-1").await.unwrap());
    never_expiring.complete("d-2").await.unwrap();
    advance(InMemorySeenStore::DEFAULT_WINDOW).await;
    assert_eq!(never_expiring.len(), 1);
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
        if matches!(claim.await.unwrap(), Claim::New(_)) {
            new += 1;
        }
    }
    assert_eq!(new, 1);
}

#[tokio::test]
async fn the_store_works_through_the_trait_object() {
    let store: Arc<dyn SeenStore> = Arc::new(InMemorySeenStore::new());
    new(store.claim("d-1").await.unwrap());
    store.complete("d-1").await.unwrap();
    assert_eq!(store.claim("d-1").await.unwrap(), Claim::Processed);
}
