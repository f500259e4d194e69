//! Expanding `#[gateway]`: collect handlers (`#[subscribe_message]`, `#[on_event]`) and hooks,
//! check them, emit an `impl Gateway`.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, ImplItemFn, ItemImpl, LitStr};

use crate::args::{parse_gateway_args, EventName, GatewayArgs};
use crate::emits::{deduplicated, take_emits};
use crate::method::{check_receiver, is_attr, typed_params, Errors};
use crate::on_event::{event_handler, take_on_event_attrs};
use crate::params::{strip_param_attrs, ArgSource};

const SUBSCRIBE_MESSAGE: &str = "subscribe_message";

/// Enhancer attributes and the builder method each becomes; the impl-level ones apply to every
/// handler, the method-level ones to that handler.
const ENHANCERS: &[(&str, &str)] = &[
    ("use_guards", "guard"),
    ("use_interceptors", "interceptor"),
    ("use_pipes", "pipe"),
    ("use_filters", "filter"),
    ("set_metadata", "metadata"),
];
/// Impl-level only: guards run at the handshake.
const CONNECTION_GUARDS: (&str, &str) = ("use_connection_guards", "connection_guard");

pub(crate) fn gateway(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "`#[gateway]` goes on an `impl` block: `#[gateway(namespace = \"/chat\")] impl ChatGateway { … }`",
            );
            return quote!(#input)
                .into_iter()
                .chain(error.to_compile_error())
                .collect();
        }
    };
    let mut errors = Errors::default();
    let args = parse_gateway_args(args).unwrap_or_else(|e| {
        errors.push(e);
        GatewayArgs::default()
    });
    let krate = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::gateway_core));

    if let Some((_, path, _)) = &item.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "`#[gateway]` goes on an inherent `impl` block, not a trait impl",
        ));
    }

    let mut registrations = Vec::new();
    let mut descriptions = Vec::new();
    let mut emitted = take_emits(&mut item.attrs, &mut errors);
    let mut all = ENHANCERS.to_vec();
    all.push(CONNECTION_GUARDS);
    for (method, exprs) in take_enhancers(&mut item.attrs, &all, &mut errors) {
        registrations.extend(exprs.iter().map(|e| quote!(__gateway.#method(#e);)));
    }
    let mut events: HashMap<String, syn::Ident> = HashMap::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        emitted.extend(take_emits(&mut method.attrs, &mut errors));
        let event = take_event_attr(&mut method.attrs, &mut errors);
        let patterns = take_on_event_attrs(&mut method.attrs, &mut errors);
        if let (Some(_), Some(pattern)) = (&event, patterns.first()) {
            errors.push(syn::Error::new(
                pattern.span(),
                "a method handles either a client's event (`#[subscribe_message]`) or bus events (`#[on_event]`), not both",
            ));
        }
        match event {
            Some(event) => {
                let value = event.value();
                if let Some(first) = events.get(&value) {
                    errors.push(syn::Error::new(
                        event.span(),
                        format!("duplicate event \"{value}\": it is already handled by `{first}`"),
                    ));
                }
                events.insert(value, method.sig.ident.clone());
                if let Some((tokens, description)) = handler(&krate, &event, method, &mut errors) {
                    registrations.push(tokens);
                    descriptions.push(description);
                }
            }
            None => {
                for (attr, _) in take_enhancers(&mut method.attrs, ENHANCERS, &mut errors) {
                    errors.push(syn::Error::new(
                        attr.span(),
                        "enhancer attributes go on the `#[gateway]` impl or on a `#[subscribe_message]` handler",
                    ));
                }
                strip_param_attrs(method, &mut errors, false);
                let tokens = if patterns.is_empty() {
                    hook(&krate, method, &mut errors)
                } else {
                    event_handler(&krate, &patterns, method, &mut errors)
                };
                registrations.extend(tokens);
            }
        }
    }

    let sends = deduplicated(emitted, &mut errors).into_iter().map(|emitted| {
        let (event, ty) = (&emitted.event, &emitted.ty);
        quote!(__d.sends(#event, (&&#krate::__private::describe::SchemaProbe::<#ty>::NEW).__schema());)
    });
    registrations.push(quote! {
        __gateway.describe_with(|__d: &mut #krate::describe::GatewayDescriber| {
            #[allow(unused_imports)]
            use #krate::__private::describe::{
                ViaBodySchema as _, ViaEventReply as _, ViaNoBody as _, ViaNoReply as _,
                ViaOpaqueBody as _, ViaOpaqueEventReply as _, ViaOpaqueReply as _,
                ViaOpaqueSchema as _, ViaSchema as _, ViaSchemaReply as _, ViaWrappedReply as _,
            };
            #(#descriptions)*
            #(#sends)*
        });
    });
    let options = options(&krate, &args);
    let self_ty = &item.self_ty;
    let (impl_generics, _, where_clause) = item.generics.split_for_impl();
    let generated = quote! {
        impl #impl_generics #krate::Gateway for #self_ty #where_clause {
            fn options(&self) -> #krate::GatewayOptions {
                #options
            }

            fn register(self: ::std::sync::Arc<Self>, __gateway: &mut #krate::GatewayBuilder) {
                #(#registrations)*
            }
        }
    };
    match errors.into_error() {
        // Keep the user's impl so the rest of the crate (and the IDE) still sees the methods.
        Some(error) => {
            let error = error.to_compile_error();
            quote!(#item #error)
        }
        None => quote!(#item #generated),
    }
}

fn options(krate: &syn::Path, args: &GatewayArgs) -> TokenStream {
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| LitStr::new("/", Span::call_site()));
    let mut tokens = match &args.namespace_regex {
        Some(regex) => quote!(#krate::GatewayOptions::regex(#regex)),
        None => quote!(#krate::GatewayOptions::new(#namespace)),
    };
    if let Some(path) = &args.path {
        tokens.extend(quote!(.with_path(#path)));
    }
    if let Some(port) = &args.port {
        tokens.extend(quote!(.with_port(#port)));
    }
    if let Some(origins) = &args.cors {
        tokens.extend(quote!(.with_allowed_origins(#origins)));
    }
    if let Some(policy) = &args.full_queue {
        tokens.extend(quote!(.with_full_queue(#krate::FullQueue::#policy)));
    }
    if let Some(keep) = &args.keep_empty {
        tokens.extend(quote!(.with_keep_empty(#keep)));
    }
    if let Some(max) = &args.max_namespaces {
        tokens.extend(quote!(.with_max_live_namespaces(#max)));
    }
    tokens
}

/// Removes the enhancer attributes in `kinds` from `attrs`; returns (builder method, expressions)
/// in source order.
fn take_enhancers(
    attrs: &mut Vec<Attribute>,
    kinds: &[(&str, &str)],
    errors: &mut Errors,
) -> Vec<(syn::Ident, Vec<syn::Expr>)> {
    let mut found = Vec::new();
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let Some((_, method)) = kinds.iter().find(|(name, _)| is_attr(&attr, name)) else {
            kept.push(attr);
            continue;
        };
        let parsed = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        );
        match parsed {
            Ok(exprs) if !exprs.is_empty() => {
                let ident = syn::Ident::new(method, attr.path().span());
                found.push((ident, exprs.into_iter().collect()));
            }
            Ok(_) => errors.push(syn::Error::new_spanned(
                &attr,
                "expected at least one expression",
            )),
            Err(e) => errors.push(e),
        }
    }
    *attrs = kept;
    found
}

/// Removes `#[subscribe_message("…")]` from a method and returns its event name.
fn take_event_attr(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Option<LitStr> {
    let mut found: Option<LitStr> = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !is_attr(&attr, SUBSCRIBE_MESSAGE) {
            kept.push(attr);
            continue;
        }
        match attr.parse_args::<EventName>() {
            Ok(EventName(lit)) if found.is_none() => found = Some(lit),
            Ok(EventName(lit)) => errors.push(syn::Error::new(
                lit.span(),
                "a method handles one event: use one `#[subscribe_message]` per method",
            )),
            Err(e) => errors.push(syn::Error::new(
                e.span(),
                "expected the event name: `#[subscribe_message(\"event\")]`",
            )),
        }
    }
    *attrs = kept;
    found
}

fn handler(
    krate: &syn::Path,
    event: &LitStr,
    method: &mut ImplItemFn,
    errors: &mut Errors,
) -> Option<(TokenStream, TokenStream)> {
    let enhancers = take_enhancers(&mut method.attrs, ENHANCERS, errors);
    method.attrs.retain(|attr| {
        let misplaced = is_attr(attr, CONNECTION_GUARDS.0);
        if misplaced {
            errors.push(syn::Error::new_spanned(
                attr,
                "`#[use_connection_guards]` goes on the `#[gateway]` impl: they run at the handshake",
            ));
        }
        !misplaced
    });
    let sources = strip_param_attrs(method, errors, true);
    let mut ok = check_receiver(method, "`#[subscribe_message]` handlers", errors);
    if method.sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            method.sig.fn_token,
            "`#[subscribe_message]` handlers must be `async fn`",
        ));
        ok = false;
    }
    if !method.sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &method.sig.generics,
            "`#[subscribe_message]` handlers cannot be generic",
        ));
        ok = false;
    }
    if !ok {
        return None;
    }
    let description = describe_handler(krate, event, method, &sources);
    let name = &method.sig.ident;
    let mut extractions = Vec::new();
    let mut args = Vec::new();
    for (i, (ty, source)) in typed_params(method).into_iter().zip(sources).enumerate() {
        let var = format_ident!("__arg{}", i);
        let span = ty.span();
        // The argument's validation rules, if its body type has any (see gateway_core::validation).
        let probe = match source {
            ArgSource::Extractor => quote!(#krate::__private::ExtractorProbe::<#ty>::NEW),
            ArgSource::Body | ArgSource::Property(_) => {
                quote!(#krate::__private::BodyProbe::<#ty>::NEW)
            }
        };
        let msg = quote! {
            #krate::__private::with_validator(&__msg, {
                #[allow(unused_imports)]
                use #krate::__private::{ViaNoValidate as _, ViaValidate as _};
                (&&#probe).__validator()
            })
        };
        let extraction = match source {
            ArgSource::Extractor => quote_spanned! {span=>
                let #var = match <#ty as #krate::FromMessage>::from_message(&#msg) {
                    ::std::result::Result::Ok(value) => value,
                    ::std::result::Result::Err(error) => return ::std::result::Result::Err(error),
                };
            },
            ArgSource::Body => quote_spanned! {span=>
                let #var = match #msg.body::<#ty>() {
                    ::std::result::Result::Ok(value) => value,
                    ::std::result::Result::Err(error) => return ::std::result::Result::Err(error),
                };
            },
            ArgSource::Property(prop) => quote_spanned! {span=>
                let #var = match #msg.property::<#ty>(#prop) {
                    ::std::result::Result::Ok(value) => value,
                    ::std::result::Result::Err(error) => return ::std::result::Result::Err(error),
                };
            },
        };
        extractions.push(extraction);
        args.push(var);
    }
    let output_span = match &method.sig.output {
        syn::ReturnType::Default => method.sig.ident.span(),
        syn::ReturnType::Type(_, ty) => ty.span(),
    };
    // What `gateway_core::reply!` expands to, spanned at the return type so that a return type
    // that is neither `IntoReply` nor `Serialize` is reported there.
    let reply = quote_spanned! {output_span=>
        {
            #[allow(unused_imports)]
            use #krate::__private::{ViaIntoReply as _, ViaSerialize as _, ViaSerializeResult as _};
            (&&&#krate::__private::ReplyWrap::new(__this.#name(#(#args),*).await)).__gateway_reply()
        }
    };
    let handler_name = name.to_string();
    let chain = enhancers
        .iter()
        .flat_map(|(method, exprs)| exprs.iter().map(move |e| quote!(.#method(#e))));
    let registration = quote! {
        {
            let __this = ::std::sync::Arc::clone(&self);
            __gateway
                .on(#event, move |__msg: #krate::Message| {
                    let __this = ::std::sync::Arc::clone(&__this);
                    async move {
                        #(#extractions)*
                        #reply
                    }
                })
                .name(#handler_name)
                #(#chain)*;
        }
    };
    Some((registration, description))
}

/// The handler's part of the gateway's description: its body (from `MessageBody<T>` and
/// `#[message_body]` arguments) and its reply (from the return type).
fn describe_handler(
    krate: &syn::Path,
    event: &LitStr,
    method: &ImplItemFn,
    sources: &[ArgSource],
) -> TokenStream {
    let probes = quote!(#krate::__private::describe);
    let mut body = Vec::new();
    let mut properties = Vec::new();
    for (ty, source) in typed_params(method).iter().zip(sources) {
        match source {
            ArgSource::Extractor => {
                body.push(quote!((&&&#probes::BodyProbe::<#ty>::NEW).__body_schema()))
            }
            ArgSource::Body => body.push(
                quote!((&&&#probes::BodyProbe::<#krate::MessageBody<#ty>>::NEW).__body_schema()),
            ),
            ArgSource::Property(prop) => properties.push(quote! {
                if let ::std::option::Option::Some(__schema) =
                    (&&&#probes::BodyProbe::<#krate::MessageBody<#ty>>::NEW).__body_schema()
                {
                    __d.receives_property(#event, #prop, __schema);
                }
            }),
        }
    }
    let reply = match &method.sig.output {
        syn::ReturnType::Default => quote!(#krate::describe::ReplySchema::None),
        // `impl Trait` cannot be named: some reply, of no known type.
        syn::ReturnType::Type(_, ty) if quote!(#ty).to_string().contains("impl ") => quote! {
            #krate::describe::ReplySchema::Ack(
                #krate::describe::MessageSchema::opaque::<dyn ::std::any::Any>(),
            )
        },
        syn::ReturnType::Type(_, ty) => {
            quote!((&&&&&&#probes::ReplyProbe::<#ty>::NEW).__reply_schema())
        }
    };
    quote! {
        {
            let __body: ::std::option::Option<#krate::describe::MessageSchema> =
                ::std::option::Option::None #(.or(#body))*;
            __d.receives(#event, __body, #reply);
            #(#properties)*
        }
    }
}

/// The lifecycle hook a method name stands for, with its maximum number of parameters.
fn hook_kind(name: &str) -> Option<(&'static str, usize)> {
    match name {
        "after_init" => Some(("on_init", 1)),
        "handle_connection" => Some(("on_connection", 2)),
        "handle_disconnecting" => Some(("on_disconnecting", 2)),
        "handle_disconnect" => Some(("on_disconnect", 2)),
        _ => None,
    }
}

fn hook(krate: &syn::Path, method: &ImplItemFn, errors: &mut Errors) -> Option<TokenStream> {
    let name = &method.sig.ident;
    let (register, max) = hook_kind(&name.to_string())?;
    if !check_receiver(method, "lifecycle hooks", errors) {
        return None;
    }
    let params = typed_params(method);
    if params.len() > max {
        errors.push(syn::Error::new_spanned(
            &method.sig.inputs,
            match register {
                "on_init" => "`after_init` takes `&self` and optionally the `Namespace`",
                "on_connection" => "`handle_connection` takes `&self`, `Socket` and optionally the `Handshake`",
                "on_disconnecting" => "`handle_disconnecting` takes `&self`, `Socket` and optionally the `DisconnectReason`",
                _ => "`handle_disconnect` takes `&self`, `Socket` and optionally the `DisconnectReason`",
            },
        ));
        return None;
    }
    let register = format_ident!("{}", register);
    let await_ = method.sig.asyncness.map(|_| quote!(.await));
    let types: Vec<TokenStream> = match max {
        1 => vec![quote!(#krate::Namespace)],
        _ if register == "on_connection" => vec![quote!(#krate::Socket), quote!(#krate::Handshake)],
        _ => vec![quote!(#krate::Socket), quote!(#krate::DisconnectReason)],
    };
    // Parameters the hook does not take are bound to `_`.
    let closure_params = types.iter().enumerate().map(|(i, ty)| {
        if i < params.len() {
            let var = format_ident!("__a{}", i);
            quote!(#var: #ty)
        } else {
            quote!(_: #ty)
        }
    });
    let call_args = (0..params.len()).map(|i| format_ident!("__a{}", i));
    let body = quote_spanned! {method.sig.output.span()=>
        __this.#name(#(#call_args),*) #await_
    };
    // Every hook may run more than once (`after_init` once per concrete namespace of a
    // dynamic gateway): each call takes its own handle on the gateway.
    let clone_per_call = quote!(let __this = ::std::sync::Arc::clone(&__this););
    Some(quote! {
        {
            let __this = ::std::sync::Arc::clone(&self);
            __gateway.#register(move |#(#closure_params),*| {
                #clone_per_call
                async move { #body }
            });
        }
    })
}
