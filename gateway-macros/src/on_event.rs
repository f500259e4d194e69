//! Expanding `#[on_event("…")]` methods: each registers a handler on the gateway's event bus
//! subscriptions, once per pattern.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, ImplItemFn, LitStr};

use crate::args::EventPattern;
use crate::method::{check_receiver, is_attr, is_str_ref, typed_params, Errors};

pub(crate) const ON_EVENT: &str = "on_event";

/// Removes every `#[on_event("…")]` from a method and returns their patterns.
pub(crate) fn take_on_event_attrs(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Vec<LitStr> {
    let mut found: Vec<LitStr> = Vec::new();
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !is_attr(&attr, ON_EVENT) {
            kept.push(attr);
            continue;
        }
        if let syn::Meta::Path(_) = attr.meta {
            errors.push(syn::Error::new_spanned(
                &attr,
                "expected the event pattern: `#[on_event(\"order.created\")]`",
            ));
            continue;
        }
        match attr.parse_args::<EventPattern>() {
            Ok(EventPattern(lit)) if found.iter().any(|f| f.value() == lit.value()) => {
                errors.push(syn::Error::new(
                    lit.span(),
                    format!("duplicate pattern \"{}\" on this method", lit.value()),
                ));
            }
            Ok(EventPattern(lit)) => found.push(lit),
            Err(e) => errors.push(e),
        }
    }
    *attrs = kept;
    found
}

/// Registers an `#[on_event]` method once per pattern: it takes `&self`, then optionally the
/// payload (any `T: Clone + DeserializeOwned`), then optionally the event name (`&str`).
pub(crate) fn event_handler(
    krate: &syn::Path,
    patterns: &[LitStr],
    method: &ImplItemFn,
    errors: &mut Errors,
) -> Option<TokenStream> {
    let mut ok = check_receiver(method, "`#[on_event]` handlers", errors);
    if method.sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            method.sig.fn_token,
            "`#[on_event]` handlers must be `async fn`",
        ));
        ok = false;
    }
    if !method.sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &method.sig.generics,
            "`#[on_event]` handlers cannot be generic",
        ));
        ok = false;
    }
    let mut params = typed_params(method);
    if let Some(extra) = params.get(2) {
        errors.push(syn::Error::new_spanned(
            extra,
            "`#[on_event]` handlers take `&self`, then optionally the payload, then optionally the event name (`&str`)",
        ));
        ok = false;
    }
    if let Some(name_ty) = params.get(1).filter(|ty| !is_str_ref(ty)) {
        errors.push(syn::Error::new_spanned(
            name_ty,
            "the second parameter of an `#[on_event]` handler is the event name: `&str`",
        ));
        ok = false;
    }
    if !ok {
        return None;
    }
    // At most two parameters now, the second a `&str`. A `&str` can never be a payload (it is
    // not `DeserializeOwned`), so a lone one is the name.
    let takes_name = params.last().is_some_and(is_str_ref);
    if takes_name {
        params.pop();
    }
    let name = &method.sig.ident;
    let mut args = Vec::new();
    // Spanned at the payload's type: a type that is not `Clone + DeserializeOwned` is reported
    // there.
    let extraction = params.first().map(|ty| {
        args.push(quote!(__payload));
        quote_spanned! {ty.span()=>
            let __payload = match __event.payload::<#ty>() {
                ::std::result::Result::Ok(value) => value,
                ::std::result::Result::Err(error) => {
                    return ::std::result::Result::Err(::std::string::ToString::to_string(&error));
                }
            };
        }
    });
    if takes_name {
        args.push(quote!(__event.name()));
    }
    let output_span = match &method.sig.output {
        syn::ReturnType::Default => method.sig.ident.span(),
        syn::ReturnType::Type(_, ty) => ty.span(),
    };
    let call = quote_spanned! {output_span=>
        #krate::IntoEventResult::into_event_result(__this.#name(#(#args),*).await)
    };
    let handler_name = name.to_string();
    let registrations = patterns.iter().map(|pattern| {
        quote! {
            {
                let __this = ::std::sync::Arc::clone(&self);
                __gateway
                    .on_event(#pattern, move |__event: #krate::PublishedEvent| {
                        let __this = ::std::sync::Arc::clone(&__this);
                        async move {
                            #extraction
                            #call
                        }
                    })
                    .name(#handler_name);
            }
        }
    });
    Some(quote!(#(#registrations)*))
}
