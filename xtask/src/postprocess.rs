//! Post-processing of progenitor's output that no generator setting offers: what the client does not
//! need is removed, so that it compiles faster and offers no way to panic.

use std::collections::BTreeSet;

use syn::visit_mut::VisitMut;
use syn::{ImplItem, Item};

/// The items of the generated `types` module.
pub fn types_module(file: &mut syn::File) -> Option<&mut Vec<Item>> {
    file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// Removes typify's struct builders (`types::builder::X` and `X::builder()`) except those that
/// progenitor's request builders use for request bodies; returns how many were kept.
///
/// progenitor's builder interface turns on typify's struct builders for every type, which doubles
/// the size of the vehicle-data module although that API is response-only; the emulator and tests
/// build values with struct literals.
pub fn drop_unused_builders(file: &mut syn::File) -> usize {
    let mut used = TypeBuilderUses::default();
    for item in file.items.iter_mut() {
        if !matches!(item, Item::Mod(m) if m.ident == "types") {
            used.visit_item_mut(item);
        }
    }
    let used = used.0;
    let Some(types) = types_module(file) else {
        return 0;
    };
    types.retain_mut(|item| match item {
        Item::Mod(m) if m.ident == "builder" => {
            if let Some((_, items)) = m.content.as_mut() {
                items.retain(|item| match item {
                    Item::Struct(s) => used.contains(&s.ident.to_string()),
                    Item::Impl(i) => self_type(i).is_some_and(|name| used.contains(&name)),
                    _ => true,
                });
            }
            !used.is_empty()
        }
        Item::Impl(i) if is_builder_constructor(i) => {
            self_type(i).is_some_and(|name| used.contains(&name))
        }
        _ => true,
    });
    used.len()
}

/// Removes the generated `Client::new`, which builds its own `reqwest::Client` with `.unwrap()`;
/// `Client::new_with_client` remains, and `hm_api::HighMobility` builds the HTTP client fallibly.
pub fn drop_panicking_constructor(file: &mut syn::File) {
    for item in file.items.iter_mut() {
        if let Item::Impl(i) = item
            && i.trait_.is_none()
            && self_type(i).as_deref() == Some("Client")
        {
            i.items
                .retain(|item| !matches!(item, ImplItem::Fn(f) if f.sig.ident == "new"));
        }
    }
}

/// The last segment of an impl's self type, e.g. `X` for `impl From<..> for super::X`.
fn self_type(item: &syn::ItemImpl) -> Option<String> {
    match item.self_ty.as_ref() {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// `impl X { pub fn builder() -> builder::X { .. } }`
fn is_builder_constructor(item: &syn::ItemImpl) -> bool {
    item.trait_.is_none()
        && !item.items.is_empty()
        && item
            .items
            .iter()
            .all(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == "builder"))
}

/// Collects `X` of every path `types::builder::X`.
#[derive(Default)]
struct TypeBuilderUses(BTreeSet<String>);

// A `VisitMut` that changes nothing: syn's read-only `Visit` is a feature the xtask does not enable.
impl VisitMut for TypeBuilderUses {
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(pos) = names
            .windows(2)
            .position(|pair| pair[0] == "types" && pair[1] == "builder")
            && let Some(name) = names.get(pos + 2)
        {
            self.0.insert(name.clone());
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn only_request_body_builders_survive() {
        let mut file: syn::File = parse_quote! {
            pub mod types {
                pub struct Body { pub a: i64 }
                impl Body { pub fn builder() -> builder::Body { Default::default() } }
                pub struct Reply { pub b: i64 }
                impl Reply { pub fn builder() -> builder::Reply { Default::default() } }
                impl ::std::fmt::Display for Reply { fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { Ok(()) } }
                pub mod builder {
                    pub struct Body { a: Result<i64, String> }
                    impl ::std::convert::TryFrom<Body> for super::Body { type Error = String; fn try_from(v: Body) -> Result<Self, String> { todo!() } }
                    pub struct Reply { b: Result<i64, String> }
                    impl ::std::convert::TryFrom<Reply> for super::Reply { type Error = String; fn try_from(v: Reply) -> Result<Self, String> { todo!() } }
                }
            }
            pub mod builder {
                pub struct Send<'a> { body: Result<types::builder::Body, String>, client: &'a () }
            }
            impl Client {
                pub fn new(baseurl: &str) -> Self { todo!() }
                pub fn new_with_client(baseurl: &str) -> Self { todo!() }
            }
        };
        assert_eq!(drop_unused_builders(&mut file), 1);
        drop_panicking_constructor(&mut file);
        let text = prettyplease::unparse(&file);
        assert!(text.contains("impl Body {"), "{text}");
        assert!(!text.contains("impl Reply {"), "{text}");
        assert!(text.contains("Display for Reply"), "{text}");
        assert!(text.contains("TryFrom<Body> for super::Body"), "{text}");
        assert!(!text.contains("TryFrom<Reply>"), "{text}");
        assert!(!text.contains("pub fn new("), "{text}");
        assert!(text.contains("pub fn new_with_client("), "{text}");
    }
}
