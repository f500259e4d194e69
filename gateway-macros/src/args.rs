//! Parsing `#[gateway(...)]` options.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitBool, LitInt, LitStr, Token};

/// The options of `#[gateway(...)]`.
#[derive(Default)]
pub(crate) struct GatewayArgs {
    pub(crate) namespace: Option<LitStr>,
    /// A dynamic gateway's regular expression, instead of `namespace`.
    pub(crate) namespace_regex: Option<LitStr>,
    pub(crate) path: Option<LitStr>,
    pub(crate) port: Option<LitInt>,
    pub(crate) cors: Option<Expr>,
    pub(crate) full_queue: Option<syn::Ident>,
    /// A dynamic gateway keeps its empty concrete namespaces.
    pub(crate) keep_empty: Option<LitBool>,
    /// A dynamic gateway's bound on live concrete namespaces.
    pub(crate) max_namespaces: Option<LitInt>,
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
            "namespace" => set(
                &mut args.namespace,
                lit_str(&pair.value).and_then(checked_namespace),
            ),
            "namespace_regex" => set(
                &mut args.namespace_regex,
                lit_str(&pair.value).and_then(checked_regex),
            ),
            "path" => set(&mut args.path, lit_str(&pair.value)),
            "port" => set(&mut args.port, lit_int(&pair.value)),
            "cors" => set(&mut args.cors, Ok(origins(&pair.value))),
            "full_queue" => set(&mut args.full_queue, full_queue(&pair.value)),
            "keep_empty" => set(&mut args.keep_empty, lit_bool(&pair.value)),
            "max_namespaces" => set(&mut args.max_namespaces, max_namespaces(&pair.value)),
            "crate" => set(
                &mut args.krate,
                lit_str(&pair.value).and_then(|s| s.parse::<syn::Path>()),
            ),
            _ => {
                push(syn::Error::new_spanned(
                    &pair.path,
                    format!("unknown gateway option `{key}`; expected `namespace`, `namespace_regex`, `path`, `port`, `cors`, `full_queue`, `keep_empty`, `max_namespaces` or `crate`"),
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
    if let Some(e) = dynamic_only_options(&args) {
        push(e);
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(args),
    }
}

/// Whether the namespace declares `{parameters}` (a dynamic gateway).
fn is_dynamic(namespace: Option<&LitStr>) -> bool {
    namespace.is_some_and(|ns| ns.value().contains(['{', '}']))
}

/// `keep_empty` and `max_namespaces` apply to dynamic gateways only, and `path` to fixed ones.
fn dynamic_only_options(args: &GatewayArgs) -> Option<syn::Error> {
    if let (Some(_), Some(regex)) = (&args.namespace, &args.namespace_regex) {
        return Some(syn::Error::new_spanned(
            regex,
            "give either `namespace` or `namespace_regex`",
        ));
    }
    let dynamic = is_dynamic(args.namespace.as_ref()) || args.namespace_regex.is_some();
    if dynamic {
        return args.path.as_ref().map(|path| {
            syn::Error::new_spanned(
                path,
                "a dynamic namespace is served at each concrete namespace's path: remove `path`",
            )
        });
    }
    let stray = args
        .keep_empty
        .as_ref()
        .map(|lit| {
            syn::Error::new_spanned(
                lit,
                "`keep_empty` applies to a dynamic namespace (`{parameters}` or `namespace_regex`)",
            )
        })
        .or_else(|| {
            args.max_namespaces.as_ref().map(|lit| {
                syn::Error::new_spanned(
                    lit,
                    "`max_namespaces` applies to a dynamic namespace (`{parameters}` or `namespace_regex`)",
                )
            })
        });
    stray
}

/// A namespace, checked as gateway-core parses it: `{name}` parameters take whole path
/// segments, with names of letters, digits and `_`, each once.
fn checked_namespace(lit: LitStr) -> syn::Result<LitStr> {
    let value = lit.value();
    if !value.contains(['{', '}']) {
        return Ok(lit);
    }
    let fail = |why: String| Err(syn::Error::new_spanned(&lit, why));
    let Some(rest) = value.strip_prefix('/') else {
        return fail("a namespace with parameters starts with `/`".to_owned());
    };
    let mut names: Vec<&str> = Vec::new();
    for segment in rest.split('/') {
        if !segment.contains(['{', '}']) {
            continue;
        }
        let Some(name) = segment
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .filter(|inner| !inner.contains(['{', '}']))
        else {
            return fail(format!(
                "`{segment}`: a parameter is a whole path segment, `{{name}}`, with balanced braces"
            ));
        };
        if name.is_empty() {
            return fail("`{}`: a parameter needs a name, e.g. `{workspace}`".to_owned());
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return fail(format!(
                "`{segment}`: a parameter name has only letters, digits and `_`"
            ));
        }
        if names.contains(&name) {
            return fail(format!("parameter `{name}` appears twice"));
        }
        names.push(name);
    }
    Ok(lit)
}

/// A regular expression in the syntax of the `regex` crate.
fn checked_regex(lit: LitStr) -> syn::Result<LitStr> {
    match regex_syntax::Parser::new().parse(&lit.value()) {
        Ok(_) => Ok(lit),
        Err(e) => Err(syn::Error::new_spanned(
            &lit,
            format!("invalid namespace regex: {e}"),
        )),
    }
}

fn lit_bool(expr: &Expr) -> syn::Result<LitBool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.clone()),
        _ => Err(syn::Error::new_spanned(expr, "expected `true` or `false`")),
    }
}

/// A positive number of namespaces.
fn max_namespaces(expr: &Expr) -> syn::Result<LitInt> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) if i.base10_parse::<usize>().is_ok_and(|n| n > 0) => Ok(i.clone()),
        _ => Err(syn::Error::new_spanned(
            expr,
            "expected a positive number of namespaces",
        )),
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
