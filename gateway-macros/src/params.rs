//! A handler's parameters: `#[message_body]` and `#[message_body("prop")]`, and how each
//! argument is extracted.

use syn::{FnArg, ImplItemFn, LitStr};

use crate::method::{is_attr, Errors};

const MESSAGE_BODY: &str = "message_body";

/// How one handler argument is extracted.
#[derive(Clone)]
pub(crate) enum ArgSource {
    Extractor,
    Body,
    Property(LitStr),
}

/// Strips `#[message_body]` from the parameters, returning how each is extracted.
pub(crate) fn strip_param_attrs(
    method: &mut ImplItemFn,
    errors: &mut Errors,
    allowed: bool,
) -> Vec<ArgSource> {
    let mut sources = Vec::new();
    for input in method.sig.inputs.iter_mut() {
        let FnArg::Typed(arg) = input else { continue };
        let mut source = ArgSource::Extractor;
        let mut kept = Vec::new();
        for attr in arg.attrs.drain(..) {
            if !is_attr(&attr, MESSAGE_BODY) {
                kept.push(attr);
                continue;
            }
            if !allowed {
                errors.push(syn::Error::new_spanned(
                    &attr,
                    "`#[message_body]` is only for `#[subscribe_message]` handlers",
                ));
                continue;
            }
            source = match &attr.meta {
                syn::Meta::Path(_) => ArgSource::Body,
                _ => match attr.parse_args::<LitStr>() {
                    Ok(prop) => ArgSource::Property(prop),
                    Err(_) => {
                        errors.push(syn::Error::new_spanned(
                            &attr,
                            "expected `#[message_body]` or `#[message_body(\"property\")]`",
                        ));
                        ArgSource::Body
                    }
                },
            };
        }
        arg.attrs = kept;
        sources.push(source);
    }
    sources
}
