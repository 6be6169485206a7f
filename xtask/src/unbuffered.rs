//! Post-processing of the generated message types: a struct that keeps the members its schema does not
//! list (a `#[serde(flatten)]` map, typify's `extra`) gets a `Deserialize` impl of its own instead of
//! serde's derive. Serialisation stays derived.
//!
//! serde decodes a struct with a flattened field by first buffering the whole object (every member, in
//! serde's private `Content`), then reading each field from that buffer. The stream's root type buffers
//! the whole message, and each capability buffers itself again: decoding took 1.3 to 4 times the CPU of
//! `serde_json::Value`. The impl generated here reads each listed member straight from the input and
//! keeps only the unlisted ones, as JSON values; like the derive, it refuses a member given twice and
//! reports a missing required one.

use std::collections::BTreeSet;

use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{Fields, Item, ItemStruct, Type, parse_quote};

/// The member-name type the generated impls read keys with, one per module.
pub const MEMBER_NAME: &str = "MemberName";

/// Replaces the derived `Deserialize` of every struct among `items` with a flattened map; returns how
/// many. An error names a serde attribute the generated impl would not honour.
pub fn decode_unbuffered(items: &mut Vec<Item>) -> Result<usize, String> {
    box_members(items);
    let mut count = 0;
    let mut out = Vec::with_capacity(items.len());
    for mut item in std::mem::take(items) {
        let generated = match &mut item {
            Item::Struct(s) if flattened(s).is_some() => {
                let impl_ = deserialize_impl(s)?;
                remove_derived_deserialize(s);
                Some(impl_)
            }
            _ => None,
        };
        out.push(item);
        if let Some(impl_) = generated {
            out.push(impl_);
            count += 1;
        }
    }
    if count > 0 {
        let taken = out.iter().any(|item| match item {
            Item::Struct(s) => s.ident == MEMBER_NAME,
            Item::Enum(e) => e.ident == MEMBER_NAME,
            Item::Type(t) => t.ident == MEMBER_NAME,
            _ => false,
        });
        if taken {
            return Err(format!(
                "the schema defines a type {MEMBER_NAME}, the name the generated decoders use for member \
                 names; rename it in xtask/src/unbuffered.rs"
            ));
        }
        out.extend(helpers());
    }
    *items = out;
    Ok(count)
}

/// Boxes the members of a struct with a flattened map whose type is another such struct (the root
/// type's 45 capabilities). Held inline they made the root type 26 KB, moved whole at every step of
/// decoding: half the decoding time went to copying it.
fn box_members(items: &mut [Item]) {
    let open: BTreeSet<String> = items
        .iter()
        .filter_map(|item| match item {
            Item::Struct(s) if flattened(s).is_some() => Some(s.ident.to_string()),
            _ => None,
        })
        .collect();
    for item in items.iter_mut() {
        let Item::Struct(s) = item else { continue };
        if flattened(s).is_none() {
            continue;
        }
        for field in s.fields.iter_mut() {
            let optional = is_option(&field.ty);
            let target = match &mut field.ty {
                Type::Path(p) if optional => p
                    .path
                    .segments
                    .last_mut()
                    .and_then(|option| match &mut option.arguments {
                        syn::PathArguments::AngleBracketed(args) => args.args.first_mut(),
                        _ => None,
                    })
                    .and_then(|arg| match arg {
                        syn::GenericArgument::Type(ty) => Some(ty),
                        _ => None,
                    }),
                ty => Some(ty),
            };
            if let Some(ty) = target
                && let Type::Path(p) = &*ty
                && p.path
                    .get_ident()
                    .is_some_and(|name| open.contains(&name.to_string()))
            {
                *ty = parse_quote!(::std::boxed::Box<#ty>);
            }
        }
    }
}

/// The field marked `#[serde(flatten)]`, if any.
fn flattened(s: &ItemStruct) -> Option<&syn::Field> {
    let Fields::Named(fields) = &s.fields else {
        return None;
    };
    fields
        .named
        .iter()
        .find(|f| serde_words(&f.attrs).iter().any(|w| w.name == "flatten"))
}

/// One `word` or `word = "value"` of a `#[serde(...)]` attribute.
struct SerdeWord {
    name: String,
    value: Option<String>,
}

fn serde_words(attrs: &[syn::Attribute]) -> Vec<SerdeWord> {
    let mut words = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            let name = meta
                .path
                .get_ident()
                .map_or_else(String::new, |i| i.to_string());
            let value = match meta.value() {
                Ok(value) => Some(value.parse::<syn::LitStr>()?.value()),
                Err(_) => None,
            };
            words.push(SerdeWord { name, value });
            Ok(())
        });
    }
    words
}

fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

fn is_json_map(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.iter().any(|s| s.ident == "serde_json")
        && p.path.segments.last().is_some_and(|s| s.ident == "Map"))
}

/// The `Deserialize` impl of `s`, which has a flattened map.
fn deserialize_impl(s: &ItemStruct) -> Result<Item, String> {
    let name = &s.ident;
    let unsupported = |what: String| {
        format!(
            "struct {name}: {what}, which the decoder generated by xtask/src/unbuffered.rs does not \
             honour; teach it there"
        )
    };
    if !s.generics.params.is_empty() {
        return Err(unsupported("generic parameters".to_owned()));
    }
    if let Some(word) = serde_words(&s.attrs).first() {
        return Err(unsupported(format!(
            "container attribute `serde({})`",
            word.name
        )));
    }
    let Fields::Named(fields) = &s.fields else {
        return Err(unsupported("unnamed fields".to_owned()));
    };
    let (mut slots, mut tys, mut wires, mut finish, mut idents) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut extra = None;
    for field in &fields.named {
        let ident = field
            .ident
            .clone()
            .ok_or_else(|| unsupported("an unnamed field".into()))?;
        let (mut wire, mut default, mut flatten) = (ident.unraw().to_string(), false, false);
        for word in serde_words(&field.attrs) {
            match (word.name.as_str(), word.value) {
                ("rename", Some(value)) => wire = value,
                ("default", None) => default = true,
                ("flatten", None) => flatten = true,
                ("skip_serializing_if", Some(_)) => {}
                (other, _) => {
                    return Err(unsupported(format!(
                        "field attribute `serde({other})` on `{ident}`"
                    )));
                }
            }
        }
        if flatten {
            if extra.is_some() || !is_json_map(&field.ty) {
                return Err(unsupported(
                    "a flattened field other than one serde_json::Map".to_owned(),
                ));
            }
            extra = Some(ident);
            continue;
        }
        let slot = format_ident!("m_{}", ident.unraw());
        finish.push(if default || is_option(&field.ty) {
            quote!(#slot.unwrap_or_default())
        } else {
            quote!(#slot.ok_or_else(|| <A::Error as ::serde::de::Error>::missing_field(#wire))?)
        });
        tys.push(field.ty.clone());
        wires.push(wire);
        slots.push(slot);
        idents.push(ident);
    }
    let extra = extra.ok_or_else(|| unsupported("no flattened field".to_owned()))?;
    let expecting = format!("struct {name}");
    let member_name = format_ident!("{MEMBER_NAME}");
    Ok(parse_quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: ::serde::Deserializer<'de>,
            {
                struct Members;
                impl<'de> ::serde::de::Visitor<'de> for Members {
                    type Value = #name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A>(self, mut map: A) -> ::std::result::Result<#name, A::Error>
                    where
                        A: ::serde::de::MapAccess<'de>,
                    {
                        #( let mut #slots: ::std::option::Option<#tys> = ::std::option::Option::None; )*
                        let mut #extra = ::serde_json::Map::new();
                        while let ::std::option::Option::Some(key) = map.next_key::<#member_name<'de>>()? {
                            match key.0.as_ref() {
                                #( #wires => listed_member(&mut #slots, #wires, &mut map)?, )*
                                _ => unlisted_member(&mut #extra, key, &mut map)?,
                            }
                        }
                        ::std::result::Result::Ok(#name {
                            #( #idents: #finish, )*
                            #extra,
                        })
                    }
                }
                deserializer.deserialize_map(Members)
            }
        }
    })
}

fn remove_derived_deserialize(s: &mut ItemStruct) {
    for attr in s.attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let kept = paths
            .into_iter()
            .filter(|p| p.segments.last().is_none_or(|s| s.ident != "Deserialize"));
        *attr = parse_quote!(#[derive(#(#kept),*)]);
    }
}

/// What the generated impls share, once per module.
fn helpers() -> Vec<Item> {
    let member_name = format_ident!("{MEMBER_NAME}");
    let file: syn::File = parse_quote! {
        /// A member name, borrowed from the input when it has no escapes.
        struct #member_name<'de>(::std::borrow::Cow<'de, str>);

        impl<'de> ::serde::Deserialize<'de> for #member_name<'de> {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: ::serde::Deserializer<'de>,
            {
                struct Chars;
                impl<'de> ::serde::de::Visitor<'de> for Chars {
                    type Value = #member_name<'de>;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a member name")
                    }
                    fn visit_borrowed_str<E>(self, text: &'de str) -> ::std::result::Result<Self::Value, E> {
                        ::std::result::Result::Ok(#member_name(::std::borrow::Cow::Borrowed(text)))
                    }
                    fn visit_str<E>(self, text: &str) -> ::std::result::Result<Self::Value, E> {
                        ::std::result::Result::Ok(#member_name(::std::borrow::Cow::Owned(text.to_owned())))
                    }
                    fn visit_string<E>(self, text: ::std::string::String) -> ::std::result::Result<Self::Value, E> {
                        ::std::result::Result::Ok(#member_name(::std::borrow::Cow::Owned(text)))
                    }
                }
                deserializer.deserialize_str(Chars)
            }
        }

        /// Reads the value of a listed member; a member given twice is an error.
        fn listed_member<'de, A, T>(
            slot: &mut ::std::option::Option<T>,
            name: &'static str,
            map: &mut A,
        ) -> ::std::result::Result<(), A::Error>
        where
            A: ::serde::de::MapAccess<'de>,
            T: ::serde::Deserialize<'de>,
        {
            if slot.is_some() {
                return ::std::result::Result::Err(<A::Error as ::serde::de::Error>::duplicate_field(name));
            }
            *slot = ::std::option::Option::Some(map.next_value()?);
            ::std::result::Result::Ok(())
        }

        /// Keeps a member the schema does not list, as received; a member given twice is an error.
        fn unlisted_member<'de, A>(
            extra: &mut ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            key: #member_name<'de>,
            map: &mut A,
        ) -> ::std::result::Result<(), A::Error>
        where
            A: ::serde::de::MapAccess<'de>,
        {
            let value = map.next_value()?;
            match extra.entry(key.0.into_owned()) {
                ::serde_json::map::Entry::Vacant(entry) => {
                    entry.insert(value);
                    ::std::result::Result::Ok(())
                }
                ::serde_json::map::Entry::Occupied(entry) => ::std::result::Result::Err(
                    <A::Error as ::serde::de::Error>::custom(
                        ::std::format_args!("duplicate field `{}`", entry.key()),
                    ),
                ),
            }
        }
    };
    file.items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str) -> Result<String, String> {
        let mut file: syn::File = syn::parse_str(code).expect("parses");
        decode_unbuffered(&mut file.items)?;
        Ok(prettyplease::unparse(&file))
    }

    #[test]
    fn structs_with_a_flattened_map_get_their_own_decoder() {
        let out = run(r#"
            #[derive(::serde::Deserialize, ::serde::Serialize, Clone)]
            pub struct Open {
                #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                pub a: ::std::option::Option<u8>,
                #[serde(rename = "type", default, skip_serializing_if = "::std::vec::Vec::is_empty")]
                pub type_: ::std::vec::Vec<u8>,
                pub required: u8,
                #[serde(flatten)]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }
            #[derive(::serde::Deserialize, ::serde::Serialize)]
            pub struct Closed { pub a: u8 }
            #[derive(::serde::Deserialize, ::serde::Serialize)]
            pub struct Root {
                pub open: ::std::option::Option<Open>,
                pub closed: ::std::option::Option<Closed>,
                #[serde(flatten)]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }
        "#)
        .expect("generates");
        assert!(
            out.contains("#[derive(::serde::Serialize, Clone)]\npub struct Open"),
            "{out}"
        );
        assert!(
            out.contains("impl<'de> ::serde::Deserialize<'de> for Open"),
            "{out}"
        );
        assert!(
            out.contains(r#""type" => listed_member(&mut m_type_, "type", &mut map)?"#),
            "{out}"
        );
        assert!(out.contains("missing_field(\n"), "{out}");
        assert!(
            out.contains("#[derive(::serde::Deserialize, ::serde::Serialize)]\npub struct Closed")
        );
        assert_eq!(out.matches("struct MemberName").count(), 1);
        assert!(
            out.contains("pub open: ::std::option::Option<::std::boxed::Box<Open>>"),
            "{out}"
        );
        assert!(
            out.contains("pub closed: ::std::option::Option<Closed>"),
            "{out}"
        );
    }

    #[test]
    fn attributes_it_does_not_honour_are_refused() {
        for attr in [
            "#[serde(alias = \"b\")]",
            "#[serde(deserialize_with = \"f\")]",
        ] {
            let code = format!(
                "#[derive(::serde::Deserialize)] pub struct S {{ {attr} pub a: u8, \
                 #[serde(flatten)] pub extra: ::serde_json::Map<String, ::serde_json::Value> }}"
            );
            let error = run(&code).expect_err(attr);
            assert!(error.contains("does not honour"), "{error}");
        }
        let none = run("pub struct S { pub a: u8 }").expect("nothing to do");
        assert!(!none.contains("MemberName"));
    }
}
