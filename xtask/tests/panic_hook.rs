//! Generation leaves the process-wide panic hook alone: progenitor's panics are caught on a thread of
//! their own, so that tests running on parallel threads keep their own panic output. (Its own test
//! binary, because it installs a hook.)

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

static GENERATOR_PANICS: AtomicUsize = AtomicUsize::new(0);

fn generator_thread() -> bool {
    std::thread::current()
        .name()
        .is_some_and(|name| name.starts_with("progenitor"))
}

#[test]
fn the_callers_panic_hook_stays_installed_and_sees_generator_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if generator_thread() {
            GENERATOR_PANICS.fetch_add(1, Ordering::SeqCst);
        }
        default(info);
    }));

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/two_error_types.yaml");
    let text = std::fs::read_to_string(&fixture).unwrap();
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(xtask::yaml::parse(&text, &fixture).unwrap()).unwrap();
    let err = xtask::generate::client(&spec, "two_error_types.yaml", &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("panicked"), "{err}");
    assert!(err.contains("response_types.len() <= 1"), "{err}");

    // The hook saw the generator's panic (the whole spec, then the operation it was narrowed to)...
    let seen = GENERATOR_PANICS.load(Ordering::SeqCst);
    assert!(seen >= 2, "{seen}");
    // ...and it is still the installed hook afterwards.
    let probe = std::thread::Builder::new()
        .name("progenitor probe".into())
        .spawn(|| panic!("probe"))
        .unwrap();
    assert!(probe.join().is_err());
    assert_eq!(GENERATOR_PANICS.load(Ordering::SeqCst), seen + 1);
}
