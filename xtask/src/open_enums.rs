//! Post-processing of the generated types: every string enum becomes *open*. A catch-all variant keeps a
//! value the spec does not list yet, so that a new brand, status or unit from the server still decodes
//! (and re-encodes unchanged); `KNOWN`, `is_known()` and `as_str()` let callers (the CLI's possible
//! values, the emulator's validation) take the listed values from the type instead of copying them.
//!
//! typify emits closed enums; rather than replace each of the ~150 enums of the specs with a hand-written
//! type, we add one `#[serde(untagged)]` variant and an inherent impl to each, mark it `#[non_exhaustive]`
//! (a spec update that lists a new value adds a variant, which must not break downstream matches), and
//! route its `Display` and `FromStr` impls through the new methods.

use std::collections::BTreeSet;

use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{Fields, Item, ItemEnum, ItemImpl, parse_quote};

/// Name of the catch-all variant.
pub const VARIANT: &str = "UnknownValue";
/// Name of the type the catch-all variant holds, one per generated `types` module. Its field is
/// private: only decoding and `FromStr` build one, and only from a value the enum does not list, so a
/// listed value has one representation (`Brand::Bmw`, never `Brand::UnknownValue("bmw")`).
pub const UNLISTED: &str = "UnlistedValue";

/// Opens every unit-only enum in the `types` module of `file`; returns how many were opened.
pub fn open_enums(file: &mut syn::File) -> Result<usize, String> {
    match crate::postprocess::types_module(file) {
        Some(types) => open_enums_in(types),
        None => Ok(0),
    }
}

/// Opens every unit-only enum among `types` (typify's output); returns how many were opened.
pub fn open_enums_in(types: &mut Vec<Item>) -> Result<usize, String> {
    let mut opened = BTreeSet::new();
    let mut items = Vec::with_capacity(types.len());
    for mut item in std::mem::take(types) {
        let extra = match &mut item {
            Item::Enum(e) if is_string_enum(e) => {
                let methods = open(e)?;
                opened.insert(e.ident.to_string());
                Some(methods)
            }
            _ => None,
        };
        items.push(item);
        items.extend(extra.into_iter().flatten());
    }
    // Types that contain an opened enum can no longer be `Copy`; nothing in the generated code needs it.
    for item in items.iter_mut() {
        match item {
            Item::Enum(e) => remove_copy(&mut e.attrs),
            Item::Struct(s) => remove_copy(&mut s.attrs),
            Item::Impl(i) => extend_impl(i, &opened),
            _ => {}
        }
    }
    if !opened.is_empty() {
        if items.iter().any(|item| defines(item, UNLISTED)) {
            return Err(format!(
                "the spec defines a type {UNLISTED}, the name open enums use for unlisted values; \
                 rename that schema with `rename` in openapi/specs.toml"
            ));
        }
        items.extend(unlisted_value());
    }
    *types = items;
    Ok(opened.len())
}

fn defines(item: &Item, name: &str) -> bool {
    match item {
        Item::Struct(s) => s.ident == name,
        Item::Enum(e) => e.ident == name,
        Item::Type(t) => t.ident == name,
        _ => false,
    }
}

/// The payload of every catch-all variant of the module.
fn unlisted_value() -> Vec<Item> {
    let name = format_ident!("{UNLISTED}");
    let file: syn::File = parse_quote! {
        /// A value an open enum's spec does not list (yet), kept verbatim. Only decoding and `FromStr`
        /// build one, so it never holds a listed value.
        #[derive(Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
        pub struct #name(::std::string::String);

        impl #name {
            /// The value as it travels on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
    file.items
}

/// Adds the catch-all variant and `#[non_exhaustive]` to `e`; returns its inherent and serde impls.
fn open(e: &mut ItemEnum) -> Result<Vec<Item>, String> {
    if e.variants.iter().any(|v| v.ident == VARIANT) {
        return Err(format!(
            "enum {} already has a variant named {VARIANT}; choose another catch-all name in xtask/src/open_enums.rs",
            e.ident
        ));
    }
    let known: Vec<_> = e.variants.iter().map(|v| v.ident.clone()).collect();
    let wire: Vec<String> = e.variants.iter().map(wire_value).collect();
    // The wire form is the string itself: serde goes through `as_str` and `FromStr` (below) rather
    // than a derive, whose untagged fallback variant would cost far more code per enum.
    remove_serde(e);
    let unlisted = format_ident!("{UNLISTED}");
    e.variants.push(parse_quote! {
        /// A value this version of the spec does not list yet, kept verbatim.
        UnknownValue(#unlisted)
    });
    e.attrs.push(parse_quote!(#[doc = ""]));
    e.attrs.push(parse_quote! {
        #[doc = " Open: a value the spec does not list arrives as [`Self::UnknownValue`] and re-encodes \
                 unchanged; [`Self::KNOWN`] lists the others. New values are added as the spec grows, \
                 hence `#[non_exhaustive]`."]
    });
    e.attrs.push(parse_quote!(#[non_exhaustive]));

    let name = &e.ident;
    let unknown = format_ident!("{VARIANT}");
    let impls: syn::File = parse_quote! {
        impl #name {
            /// Every value the spec lists, in the spec's order (without [`Self::UnknownValue`]).
            pub const KNOWN: &'static [Self] = &[#(Self::#known),*];

            /// Whether the spec lists this value, i.e. it is not [`Self::UnknownValue`].
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::#unknown(_))
            }

            /// The value as it travels on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#known => #wire,)*
                    Self::#unknown(value) => value.as_str(),
                }
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                value.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
    Ok(impls.items)
}

/// Drops serde's derives and their attributes from `e`, keeping every other derive.
fn remove_serde(e: &mut ItemEnum) {
    let is_serde = |p: &syn::Path| {
        p.segments.first().is_some_and(|s| s.ident == "serde")
            && p.segments
                .last()
                .is_some_and(|s| s.ident == "Serialize" || s.ident == "Deserialize")
    };
    retain_derives(&mut e.attrs, |p| !is_serde(p));
    e.attrs.retain(|a| !a.path().is_ident("serde"));
    for variant in e.variants.iter_mut() {
        variant.attrs.retain(|a| !a.path().is_ident("serde"));
    }
}

/// The string a variant stands for: its `#[serde(rename = "...")]`, else its name.
fn wire_value(variant: &syn::Variant) -> String {
    let mut value = variant.ident.to_string();
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                value = meta.value()?.parse::<syn::LitStr>()?.value();
            }
            Ok(())
        });
    }
    value
}

fn is_string_enum(e: &ItemEnum) -> bool {
    !e.variants.is_empty()
        && e.variants.iter().all(|v| matches!(v.fields, Fields::Unit))
        && e.attrs.iter().any(|a| {
            a.path().is_ident("derive")
                && a.meta
                    .require_list()
                    .is_ok_and(|list| list.tokens.to_string().contains("Deserialize"))
        })
}

fn remove_copy(attrs: &mut [syn::Attribute]) {
    retain_derives(attrs, |p| {
        p.segments.last().is_none_or(|s| s.ident != "Copy")
    });
}

fn retain_derives(attrs: &mut [syn::Attribute], keep: impl Fn(&syn::Path) -> bool) {
    for attr in attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let kept: Vec<_> = paths.into_iter().filter(|p| keep(p)).collect();
        *attr = parse_quote!(#[derive(#(#kept),*)]);
    }
}

fn extend_impl(item: &mut ItemImpl, opened: &BTreeSet<String>) {
    let syn::Type::Path(self_ty) = item.self_ty.as_ref() else {
        return;
    };
    let Some(name) = self_ty.path.segments.last().map(|s| s.ident.to_string()) else {
        return;
    };
    if !opened.contains(&name) {
        return;
    }
    let Some(trait_name) = item
        .trait_
        .as_ref()
        .and_then(|(path, _)| path.segments.last())
        .map(|s| s.ident.to_string())
    else {
        return;
    };
    match trait_name.as_str() {
        "Display" => {
            // One spelling of the wire values: `as_str`.
            let body = quote!(f.write_str(self.as_str()));
            for item in item.items.iter_mut() {
                if let syn::ImplItem::Fn(f) = item {
                    f.block = parse_quote!({ #body });
                }
            }
        }
        "FromStr" => FromStrFallback.visit_item_impl_mut(item),
        _ => {}
    }
}

/// `FromStr` accepts any string, like deserialisation does.
struct FromStrFallback;

impl VisitMut for FromStrFallback {
    fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
        for arm in m.arms.iter_mut() {
            if matches!(arm.pat, syn::Pat::Wild(_)) {
                let unlisted = format_ident!("{UNLISTED}");
                arm.body = parse_quote!(Ok(Self::UnknownValue(#unlisted(value.to_string()))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enum_gets_known_values_is_known_and_as_str() {
        let mut file: syn::File = parse_quote! {
            pub mod types {
                #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Copy, Debug)]
                pub enum Brand {
                    #[serde(rename = "mercedes-benz")]
                    MercedesBenz,
                    Bmw,
                }
                impl ::std::fmt::Display for Brand {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        match *self { Self::MercedesBenz => f.write_str("mercedes-benz"), Self::Bmw => f.write_str("Bmw") }
                    }
                }
            }
        };
        assert_eq!(open_enums(&mut file), Ok(1));
        let text = prettyplease::unparse(&file);
        assert!(text.contains("#[non_exhaustive]"), "{text}");
        assert!(text.contains("UnknownValue(UnlistedValue)"), "{text}");
        assert!(
            text.contains("pub struct UnlistedValue(::std::string::String);"),
            "{text}"
        );
        assert!(
            text.contains("pub const KNOWN: &'static [Self] = &[Self::MercedesBenz, Self::Bmw];"),
            "{text}"
        );
        assert!(
            text.contains("Self::MercedesBenz => \"mercedes-benz\""),
            "{text}"
        );
        assert!(text.contains("Self::Bmw => \"Bmw\""), "{text}");
        assert!(text.contains("f.write_str(self.as_str())"), "{text}");
        assert!(!text.contains("Copy"), "{text}");
    }
}
