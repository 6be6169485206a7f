//! Running progenitor on a corrected spec, with its panics turned into errors.

use openapiv3::OpenAPI;
use proc_macro2::TokenStream;
use std::collections::BTreeMap;

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypePatch};
use quote::quote;

use crate::error::{Error, Result};

/// The generator settings: shared by every spec, plus the spec's type renames.
fn settings(renames: &BTreeMap<String, String>) -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // hm-api's hand-written `ClientContext` carries the authenticator; its `ClientHooks` impl
        // (attach the token, retry after a 401) is required, so a module cannot be generated without auth.
        .with_inner_type(quote!(crate::ClientContext))
        .with_hooks(HooksMode::Expected)
        .with_derive("PartialEq")
        // Free-form maps (e.g. clearance `tags`) iterate and serialise in a deterministic order.
        .with_map_type("::std::collections::BTreeMap");
    for (schema, name) in renames {
        settings.with_patch(schema, TypePatch::default().with_rename(name));
    }
    settings
}

/// Generates the client of `spec` (`file` names it in errors); returns the code as text.
pub fn client(spec: &OpenAPI, file: &str, renames: &BTreeMap<String, String>) -> Result<String> {
    run(spec, file, renames, |generator, spec| {
        generator.generate_tokens(spec)
    })
}

/// Generates the typed httpmock helpers of `spec` for the client at `crate_path` (e.g. `hm_api::oauth`);
/// returns the code as text.
pub fn httpmock(
    spec: &OpenAPI,
    file: &str,
    renames: &BTreeMap<String, String>,
    crate_path: &str,
) -> Result<String> {
    run(spec, file, renames, |generator, spec| {
        generator.httpmock(spec, crate_path)
    })
}

fn run(
    spec: &OpenAPI,
    file: &str,
    renames: &BTreeMap<String, String>,
    generate: impl Fn(&mut Generator, &OpenAPI) -> std::result::Result<TokenStream, progenitor::Error>
    + Sync,
) -> Result<String> {
    // Token streams cannot leave the generator's thread; their text can.
    let attempt = |spec: &OpenAPI| {
        catch_panic(file, || {
            generate(&mut Generator::new(&settings(renames)), spec).map(|tokens| tokens.to_string())
        })
    };
    match attempt(spec) {
        Ok(Ok(code)) => Ok(code),
        Ok(Err(e)) => Err(Error::Generate {
            file: file.to_owned(),
            operation: String::new(),
            message: format!("progenitor rejected the spec: {e}; correct it in the overlay"),
        }),
        Err(panic) => {
            // Narrow the panic down to one operation by generating each on its own.
            let culprit = crate::validate::operations(spec).find_map(|(path, method, _)| {
                let single = only_operation(spec, path, method);
                attempt(&single)
                    .is_err()
                    .then(|| format!(" in {} {path}", method.to_uppercase()))
            });
            Err(Error::Generate {
                file: file.to_owned(),
                operation: culprit.unwrap_or_default(),
                message: format!(
                    "progenitor 0.15 panicked ({panic}); the spec uses a construct it does not support: \
                     correct that operation or schema in the overlay"
                ),
            })
        }
    }
}

/// A copy of `spec` with every operation but one removed.
fn only_operation(spec: &OpenAPI, path: &str, method: &str) -> OpenAPI {
    let mut single = spec.clone();
    single.paths.paths.retain(|p, _| p == path);
    if let Some(openapiv3::ReferenceOr::Item(item)) = single.paths.paths.get_mut(path) {
        for (m, slot) in [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ] {
            if m != method {
                *slot = None;
            }
        }
    }
    single
}

/// Runs `f` on a thread of its own and turns a panic into its message.
///
/// The process-wide panic hook is left alone (tests run on parallel threads, and replacing the hook
/// would swallow their panics too): the default hook prints the panic under the thread's name, and
/// the payload becomes the error.
pub(crate) fn catch_panic<T: Send>(
    file: &str,
    f: impl FnOnce() -> T + Send,
) -> std::result::Result<T, String> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name(format!("progenitor ({file})"))
            .spawn_scoped(scope, f)
            .map_err(|e| format!("cannot start the generator thread: {e}"))?;
        thread.join().map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned())
                .replace('\n', " ")
        })
    })
}
