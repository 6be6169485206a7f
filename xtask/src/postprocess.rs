//! Post-processing of progenitor's output that no generator setting offers: what the client does not
//! need is removed, so that it compiles faster and offers no way to panic.

use std::collections::BTreeSet;

use syn::visit_mut::VisitMut;
use syn::{ImplItem, Item, parse_quote};

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

/// Checks that every `rename` (type progenitor would generate -> new name) took effect exactly once:
/// a rename of a type that does not exist is a typo or an upstream change, and one onto a name the
/// spec already uses would define two types.
pub fn check_renames(
    file: &mut syn::File,
    renames: &std::collections::BTreeMap<String, String>,
) -> Result<(), String> {
    let defined: Vec<String> = types_module(file)
        .map(|types| {
            types
                .iter()
                .filter_map(|item| match item {
                    Item::Struct(s) => Some(s.ident.to_string()),
                    Item::Enum(e) => Some(e.ident.to_string()),
                    Item::Type(t) => Some(t.ident.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    for (from, to) in renames {
        match defined.iter().filter(|name| *name == to).count() {
            1 => {}
            0 => {
                return Err(format!(
                    "rename of `{from}` matches no type of the spec (typo, or renamed upstream?); \
                     the key is the name progenitor gives the type (the schema name in UpperCamelCase): \
                     correct or drop it"
                ));
            }
            _ => {
                return Err(format!(
                    "rename of `{from}` to `{to}`: the spec already has a type `{to}`; choose another name"
                ));
            }
        }
    }
    Ok(())
}

/// Makes the generated types decode what servers send besides the strict spec: date-times without zone
/// (the published examples) or with an offset, and `null` for an optional list or map. Each field gets
/// a `deserialize_with` of hm-api's hand-written `crate::wire`; returns how many fields changed.
pub fn lenient_decoding(file: &mut syn::File) -> usize {
    let Some(types) = types_module(file) else {
        return 0;
    };
    let mut changed = 0;
    for item in types.iter_mut() {
        let Item::Struct(s) = item else { continue };
        for field in s.fields.iter_mut() {
            let ty = compact(&field.ty);
            let defaulted = field
                .attrs
                .iter()
                .any(|a| a.path().is_ident("serde") && compact(&a.meta).contains("(default"));
            let attr: Option<syn::Attribute> = if ty == DATE_TIME {
                Some(parse_quote!(#[serde(deserialize_with = "crate::wire::date_time")]))
            } else if ty == format!("::std::option::Option<{DATE_TIME}>") {
                // `deserialize_with` makes serde require the field, unless it has a default.
                Some(if defaulted {
                    parse_quote!(#[serde(deserialize_with = "crate::wire::optional_date_time")])
                } else {
                    parse_quote!(#[serde(default, deserialize_with = "crate::wire::optional_date_time")])
                })
            } else if defaulted
                && (ty.starts_with("::std::vec::Vec<")
                    || ty.starts_with("::std::collections::BTreeMap<"))
            {
                Some(parse_quote!(#[serde(deserialize_with = "crate::wire::null_as_default")]))
            } else {
                None
            };
            if let Some(attr) = attr {
                field.attrs.push(attr);
                changed += 1;
            }
        }
    }
    changed
}

const DATE_TIME: &str = "::chrono::DateTime<::chrono::offset::Utc>";

/// Tokens without spaces, for comparing types and attributes.
fn compact(tokens: &impl quote::ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Path parameters go through hm-api's `crate::wire::path_segment`, which refuses the values that the
/// URL parser would resolve (``, `.`, `..`) instead of sending the request (with its token) to another
/// endpoint; progenitor's `encode_path` leaves dots as they are. Returns how many calls changed.
pub fn guard_path_parameters(file: &mut syn::File) -> usize {
    let mut guard = PathGuard(0);
    guard.visit_file_mut(file);
    guard.0
}

struct PathGuard(usize);

impl VisitMut for PathGuard {
    // progenitor builds the URL in `format!(..)`, whose arguments syn keeps as plain tokens.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        if !mac.path.is_ident("format") {
            return;
        }
        let Ok(mut args) = mac.parse_body_with(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        ) else {
            return;
        };
        let before = self.0;
        args.iter_mut().for_each(|arg| self.visit_expr_mut(arg));
        if self.0 != before {
            mac.tokens = quote::ToTokens::into_token_stream(args);
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        if let syn::Expr::Call(call) = expr
            && matches!(call.func.as_ref(), syn::Expr::Path(p) if p.path.is_ident("encode_path"))
        {
            let args = &call.args;
            *expr = parse_quote! {
                crate::wire::path_segment(#args).map_err(progenitor_client::Error::InvalidRequest)?
            };
            self.0 += 1;
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
