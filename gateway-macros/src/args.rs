//! Parsing `#[gateway(...)]` options.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitInt, LitStr, Token};

/// The options of `#[gateway(...)]`.
#[derive(Default)]
pub(crate) struct GatewayArgs {
    pub(crate) namespace: Option<LitStr>,
    pub(crate) path: Option<LitStr>,
    pub(crate) port: Option<LitInt>,
    pub(crate) cors: Option<Expr>,
    pub(crate) full_queue: Option<syn::Ident>,
    pub(crate) krate: Option<syn::Path>,
}

pub(crate) fn parse_gateway_args(tokens: TokenStream) -> syn::Result<GatewayArgs> {
    let pairs = syn::parse::Parser::parse2(
        Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated,
        tokens,
    )?;
    let mut args = GatewayArgs::default();
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for pair in pairs {
        let Some(key) = pair.path.get_ident().map(ToString::to_string) else {
            push(syn::Error::new_spanned(
                &pair.path,
                "expected an option name",
            ));
            continue;
        };
        let duplicate = match key.as_str() {
            "namespace" => set(&mut args.namespace, lit_str(&pair.value)),
            "path" => set(&mut args.path, lit_str(&pair.value)),
            "port" => set(&mut args.port, lit_int(&pair.value)),
            "cors" => set(&mut args.cors, Ok(origins(&pair.value))),
            "full_queue" => set(&mut args.full_queue, full_queue(&pair.value)),
            "crate" => set(
                &mut args.krate,
                lit_str(&pair.value).and_then(|s| s.parse::<syn::Path>()),
            ),
            _ => {
                push(syn::Error::new_spanned(
                    &pair.path,
                    format!("unknown gateway option `{key}`; expected `namespace`, `path`, `port`, `cors`, `full_queue` or `crate`"),
                ));
                continue;
            }
        };
        match duplicate {
            Ok(false) => {}
            Ok(true) => push(syn::Error::new_spanned(
                &pair.path,
                format!("duplicate gateway option `{key}`"),
            )),
            Err(e) => push(e),
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(args),
    }
}

/// Stores `value`; `Ok(true)` if the option was already set.
fn set<T>(slot: &mut Option<T>, value: syn::Result<T>) -> syn::Result<bool> {
    let value = value?;
    let was_set = slot.is_some();
    *slot = Some(value);
    Ok(was_set)
}

fn lit_str(expr: &Expr) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(expr, "expected a string literal")),
    }
}

fn lit_int(expr: &Expr) -> syn::Result<LitInt> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            i.base10_parse::<u16>()?;
            Ok(i.clone())
        }
        _ => Err(syn::Error::new_spanned(expr, "expected a port number")),
    }
}

/// `"*"` and `"https://a"` become one-element arrays; arrays and other expressions (anything
/// iterable over strings, e.g. a function reading an environment variable) pass through.
fn origins(expr: &Expr) -> Expr {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => syn::parse_quote!([#s]),
        other => other.clone(),
    }
}

/// `#[subscribe_message("event")]`'s argument.
pub(crate) struct EventName(pub(crate) LitStr);

impl Parse for EventName {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let lit: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the event name: `#[subscribe_message(\"event\")]`",
            )
        })?;
        if !input.is_empty() {
            return Err(input.error("expected only the event name"));
        }
        Ok(Self(lit))
    }
}

/// `#[on_event("order.*")]`'s argument: an event pattern, checked by the rules of gateway-core's
/// `EventPattern::parse` (gateway-core/src/event_pattern.rs; keep the two in step).
pub(crate) struct EventPattern(pub(crate) LitStr);

impl Parse for EventPattern {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let lit: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the event pattern: `#[on_event(\"order.created\")]`",
            )
        })?;
        if !input.is_empty() {
            return Err(input.error(
                "expected only the event pattern; subscribe to several with one `#[on_event]` each",
            ));
        }
        if let Err(reason) = check_event_pattern(&lit.value()) {
            return Err(syn::Error::new(
                lit.span(),
                format!("invalid event pattern: {reason}"),
            ));
        }
        Ok(Self(lit))
    }
}

/// Segments separated by single dots, none empty; `*` (one segment) and `**` (any number) only
/// as whole segments.
fn check_event_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("it is empty".to_owned());
    }
    for segment in pattern.split('.') {
        if segment.is_empty() {
            return Err("it has an empty segment: segments are separated by single dots, with none at either end".to_owned());
        }
        if segment.contains('*') && segment != "*" && segment != "**" {
            return Err(format!(
                "`*` stands for a whole segment (`order.*`), not part of one (`{segment}`)"
            ));
        }
    }
    Ok(())
}

/// `full_queue = "disconnect" | "drop_newest"`, as the `FullQueue` variant it names.
fn full_queue(expr: &Expr) -> syn::Result<syn::Ident> {
    let value = lit_str(expr)?;
    let variant = match value.value().as_str() {
        "disconnect" => "Disconnect",
        "drop_newest" => "DropNewest",
        _ => {
            return Err(syn::Error::new_spanned(
                value,
                "expected `\"disconnect\"` or `\"drop_newest\"`",
            ))
        }
    };
    Ok(syn::Ident::new(variant, value.span()))
}

#[cfg(test)]
mod tests {
    use super::check_event_pattern;

    #[test]
    fn event_patterns_follow_gateway_cores_rules() {
        for valid in [
            "order.created",
            "order.*",
            "order.**",
            "**",
            "*.created",
            "a.**.b",
        ] {
            assert!(check_event_pattern(valid).is_ok(), "{valid}");
        }
        for invalid in [
            "",
            "order.",
            ".order",
            "order..created",
            "ord*",
            "order.*s",
            "***",
        ] {
            assert!(check_event_pattern(invalid).is_err(), "{invalid}");
        }
    }
}
