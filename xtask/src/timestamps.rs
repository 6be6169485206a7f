//! Post-processing of the generated message types: `date-time` fields (`chrono::DateTime<Utc>`, one in
//! every property value) are read with chrono's RFC 3339 parser first. The derive would use chrono's
//! general `FromStr`, several times slower, which took a sixth of the time spent decoding a message; it
//! stays the fallback, so exactly the texts that decoded before decode, to the same time.

use syn::{Fields, Item, Type, parse_quote};

/// The module the generated `deserialize_with` functions live in, one per generated module.
const MODULE: &str = "rfc3339";

/// Points every derived `date-time` field among `items` at the fast parser; returns how many.
pub fn fast_timestamps(items: &mut Vec<Item>) -> usize {
    let text = |ty: &Type| quote::quote!(#ty).to_string();
    let utc = text(&parse_quote!(::chrono::DateTime<::chrono::offset::Utc>));
    let optional = text(&parse_quote!(
        ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>
    ));
    let mut count = 0;
    for item in items.iter_mut() {
        let Item::Struct(s) = item else { continue };
        if !derives_deserialize(&s.attrs) {
            continue;
        }
        let Fields::Named(fields) = &mut s.fields else {
            continue;
        };
        for field in fields.named.iter_mut() {
            let ty = text(&field.ty);
            let attr: syn::Attribute = if ty == utc {
                parse_quote!(#[serde(deserialize_with = "rfc3339::required")])
            } else if ty == optional {
                // `default`: with `deserialize_with`, serde no longer treats a missing Option as None.
                parse_quote!(#[serde(default, deserialize_with = "rfc3339::optional")])
            } else {
                continue;
            };
            field.attrs.push(attr);
            count += 1;
        }
    }
    if count > 0 {
        items.push(module());
    }
    count
}

fn derives_deserialize(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|attr| {
            attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|paths| {
                paths
                    .iter()
                    .any(|p| p.segments.last().is_some_and(|s| s.ident == "Deserialize"))
            })
        })
}

fn module() -> Item {
    let name = quote::format_ident!("{MODULE}");
    parse_quote! {
        /// `date-time` values: chrono's RFC 3339 parser first, its general one (which the derive would use)
        /// when that fails, so that the same texts decode, several times faster.
        mod #name {
            use ::chrono::{DateTime, Utc};

            struct Text;

            impl<'de> ::serde::de::Visitor<'de> for Text {
                type Value = DateTime<Utc>;
                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("an RFC 3339 date-time")
                }
                fn visit_str<E: ::serde::de::Error>(self, text: &str) -> ::std::result::Result<DateTime<Utc>, E> {
                    match DateTime::parse_from_rfc3339(text) {
                        ::std::result::Result::Ok(time) => ::std::result::Result::Ok(time.with_timezone(&Utc)),
                        ::std::result::Result::Err(_) => text.parse().map_err(E::custom),
                    }
                }
            }

            struct Nullable;

            impl<'de> ::serde::de::Visitor<'de> for Nullable {
                type Value = ::std::option::Option<DateTime<Utc>>;
                fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str("an RFC 3339 date-time or null")
                }
                fn visit_none<E: ::serde::de::Error>(self) -> ::std::result::Result<Self::Value, E> {
                    ::std::result::Result::Ok(::std::option::Option::None)
                }
                fn visit_unit<E: ::serde::de::Error>(self) -> ::std::result::Result<Self::Value, E> {
                    ::std::result::Result::Ok(::std::option::Option::None)
                }
                fn visit_some<D: ::serde::Deserializer<'de>>(self, deserializer: D) -> ::std::result::Result<Self::Value, D::Error> {
                    required(deserializer).map(::std::option::Option::Some)
                }
            }

            pub(super) fn required<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<DateTime<Utc>, D::Error> {
                deserializer.deserialize_str(Text)
            }

            pub(super) fn optional<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<::std::option::Option<DateTime<Utc>>, D::Error> {
                deserializer.deserialize_option(Nullable)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_date_times_use_the_fast_parser() {
        let mut file: syn::File = syn::parse_str(
            "#[derive(::serde::Deserialize)] pub struct V { \
               pub at: ::std::option::Option<::chrono::DateTime<::chrono::offset::Utc>>, \
               pub due: ::chrono::DateTime<::chrono::offset::Utc>, pub n: u8 } \
             #[derive(::serde::Serialize)] pub struct W { pub at: ::chrono::DateTime<::chrono::offset::Utc> }",
        )
        .expect("parses");
        assert_eq!(fast_timestamps(&mut file.items), 2);
        let out = prettyplease::unparse(&file);
        assert!(
            out.contains("#[serde(default, deserialize_with = \"rfc3339::optional\")]\n    pub at"),
            "{out}"
        );
        assert!(
            out.contains("#[serde(deserialize_with = \"rfc3339::required\")]\n    pub due"),
            "{out}"
        );
        assert_eq!(out.matches("deserialize_with").count(), 2, "{out}");
        assert_eq!(out.matches("mod rfc3339").count(), 1, "{out}");
    }
}
