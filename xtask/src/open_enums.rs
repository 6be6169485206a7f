//! Post-processing of the generated types: every string enum gets a catch-all variant that keeps a value
//! the spec does not list yet, so that a new brand, status or unit from the server still decodes (and
//! re-encodes unchanged).
//!
//! typify emits closed enums; rather than replace each of the ~150 enums of the specs with a hand-written
//! type, we add one `#[serde(untagged)]` variant to each and extend its `Display` and `FromStr` impls.

use std::collections::BTreeSet;

use syn::visit_mut::VisitMut;
use syn::{Fields, Item, ItemEnum, ItemImpl, parse_quote};

/// Name of the catch-all variant.
pub const VARIANT: &str = "UnknownValue";

/// Opens every unit-only enum in the `types` module of `file`; returns how many were opened.
pub fn open_enums(file: &mut syn::File) -> Result<usize, String> {
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        return Ok(0);
    };

    let mut opened = BTreeSet::new();
    for item in types.iter_mut() {
        match item {
            Item::Enum(e) if is_string_enum(e) => {
                if e.variants.iter().any(|v| v.ident == VARIANT) {
                    return Err(format!(
                        "enum {} already has a variant named {VARIANT}; choose another catch-all name in xtask/src/open_enums.rs",
                        e.ident
                    ));
                }
                e.variants.push(parse_quote! {
                    /// A value this version of the spec does not list yet, kept verbatim.
                    #[serde(untagged)]
                    UnknownValue(::std::string::String)
                });
                opened.insert(e.ident.to_string());
            }
            _ => {}
        }
    }
    // Types that contain an opened enum can no longer be `Copy`; nothing in the generated code needs it.
    for item in types.iter_mut() {
        match item {
            Item::Enum(e) => remove_copy(&mut e.attrs),
            Item::Struct(s) => remove_copy(&mut s.attrs),
            Item::Impl(i) => extend_impl(i, &opened),
            _ => {}
        }
    }
    Ok(opened.len())
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
    for attr in attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let kept: Vec<_> = paths
            .into_iter()
            .filter(|p| p.segments.last().is_none_or(|s| s.ident != "Copy"))
            .collect();
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
        "Display" => DisplayArm.visit_item_impl_mut(item),
        "FromStr" => FromStrFallback.visit_item_impl_mut(item),
        _ => {}
    }
}

/// `Display` writes the kept value.
struct DisplayArm;

impl VisitMut for DisplayArm {
    fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
        // typify matches on `*self`; binding the kept string needs a match on the reference.
        if let syn::Expr::Unary(unary) = m.expr.as_ref()
            && matches!(unary.op, syn::UnOp::Deref(_))
        {
            m.expr = unary.expr.clone();
        }
        m.arms
            .push(parse_quote!(Self::UnknownValue(value) => f.write_str(value),));
    }
}

/// `FromStr` accepts any string, like deserialisation does.
struct FromStrFallback;

impl VisitMut for FromStrFallback {
    fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
        for arm in m.arms.iter_mut() {
            if matches!(arm.pat, syn::Pat::Wild(_)) {
                arm.body = parse_quote!(Ok(Self::UnknownValue(value.to_string())));
            }
        }
    }
}
