//! What the expansion of any gateway method shares: collecting errors, and reading a method's
//! attributes, receiver and parameters.

use syn::{Attribute, FnArg, ImplItemFn, Type};

/// Collects every error so the user sees them all at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Every error pushed, combined; `None` if there was none.
    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

pub(crate) fn is_attr(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

/// Checks the receiver is `&self`; reports and returns false otherwise.
pub(crate) fn check_receiver(method: &ImplItemFn, what: &str, errors: &mut Errors) -> bool {
    match method.sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => true,
        Some(FnArg::Receiver(r)) => {
            errors.push(syn::Error::new_spanned(
                r,
                format!("{what} take `&self`: a gateway is shared by every connection"),
            ));
            false
        }
        _ => {
            errors.push(syn::Error::new_spanned(
                &method.sig,
                format!("{what} take `&self` as their first parameter"),
            ));
            false
        }
    }
}

/// Whether `ty` is `&str` (any lifetime).
pub(crate) fn is_str_ref(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => {
            matches!(&*r.elem, Type::Path(p) if p.qself.is_none() && p.path.is_ident("str"))
        }
        _ => false,
    }
}

/// The types of the parameters after the receiver.
pub(crate) fn typed_params(method: &ImplItemFn) -> Vec<Type> {
    method
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(arg) => Some((*arg.ty).clone()),
            FnArg::Receiver(_) => None,
        })
        .collect()
}
