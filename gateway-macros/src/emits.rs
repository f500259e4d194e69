//! `#[emits("event" = Type, …)]`: the events a gateway sends and their payload types, declared
//! on the `#[gateway]` impl or on the method that emits them, for the API description.

use std::collections::HashMap;

use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, LitStr, Token, Type};

use crate::method::{is_attr, Errors};

pub(crate) const EMITS: &str = "emits";

/// One `"event" = Type`.
#[derive(Clone)]
pub(crate) struct Emitted {
    pub(crate) event: LitStr,
    pub(crate) ty: Type,
}

impl Parse for Emitted {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let event: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `\"event\" = Type`, e.g. `#[emits(\"userJoined\" = RoomEvent)]`",
            )
        })?;
        input.parse::<Token![=]>()?;
        let ty: Type = input.parse()?;
        Ok(Self { event, ty })
    }
}

/// Removes the `#[emits(...)]` attributes from `attrs` and returns their declarations.
pub(crate) fn take_emits(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Vec<Emitted> {
    let mut found = Vec::new();
    attrs.retain(|attr| {
        if !is_attr(attr, EMITS) {
            return true;
        }
        match attr.parse_args_with(Punctuated::<Emitted, Token![,]>::parse_terminated) {
            Ok(list) if !list.is_empty() => found.extend(list),
            Ok(_) => errors.push(syn::Error::new_spanned(
                attr,
                "expected at least one `\"event\" = Type`",
            )),
            Err(e) => errors.push(e),
        }
        false
    });
    found
}

/// Every declaration once; the same event with two different types is an error.
pub(crate) fn deduplicated(all: Vec<Emitted>, errors: &mut Errors) -> Vec<Emitted> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut kept = Vec::new();
    for emitted in all {
        let ty = emitted.ty.to_token_stream().to_string();
        match seen.get(&emitted.event.value()) {
            Some(first) if *first == ty => {}
            Some(first) => errors.push(syn::Error::new(
                emitted.event.span(),
                format!(
                    "event \"{}\" is already declared with payload `{first}`",
                    emitted.event.value()
                ),
            )),
            None => {
                seen.insert(emitted.event.value(), ty);
                kept.push(emitted);
            }
        }
    }
    kept
}
