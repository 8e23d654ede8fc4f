//! Pass 2: constant evaluation, in one place — literals, `const`s naming other constants, enum
//! members (written or numbered previous + 1 from 0), user-supplied constants, libtirpc's
//! `TRUE`/`FALSE`.

use std::collections::{BTreeSet, HashMap};

use crate::ast::{Ident, Value};
use crate::source::Span;

use super::symbols::{ConstItem, Symbol, Symbols};
use super::Cx;

/// How deep a chain of constants naming constants may go: deep enough for any real file, shallow
/// enough that a hostile one cannot exhaust the stack.
const MAX_DEPTH: usize = 200;

/// The state of one name's evaluation.
#[derive(Clone, Copy)]
enum Eval {
    /// Being evaluated: meeting it again means a cycle.
    Busy,
    /// Done; `None` when it failed (and the failure was reported).
    Done(Option<i128>),
}

/// Memoised constant values.
#[derive(Default)]
pub(super) struct Consts {
    memo: HashMap<String, Eval>,
    depth: usize,
    /// User-supplied constants the files used, by name.
    pub used_user: BTreeSet<String>,
}

impl Consts {
    /// The value of a literal or name, reporting problems at the use.
    pub fn value(&mut self, cx: &mut Cx, syms: &Symbols, value: &Value) -> Option<i128> {
        match value {
            Value::Literal { value, .. } => Some(*value),
            Value::Named(ident) => self.named(cx, syms, ident),
        }
    }

    /// The value of a `const` definition.
    pub fn of_const(&mut self, cx: &mut Cx, syms: &Symbols, c: &ConstItem) -> Option<i128> {
        // By its own value, not by name: a duplicate's name may stand for something else.
        self.named_value(cx, syms, c.name, c.value)
    }

    /// The value of member `index` of the enum `types[ty]`.
    pub fn member(&mut self, cx: &mut Cx, syms: &Symbols, ty: usize, index: usize) -> Option<i128> {
        let members = syms.members(ty);
        // Rule: a member without a value is the previous member + 1 (rpcgen), the first 0. Walk
        // back iteratively to the nearest member with a value or an already known one, so long
        // enums use neither stack nor quadratic time.
        let mut start = index;
        let base = loop {
            let m = &members[start];
            if let Some(Eval::Done(v)) = self.memo.get(&m.name.name) {
                break (*v)?;
            }
            if let Some(v) = &m.value {
                break self.named_value(cx, syms, &m.name, v)?;
            }
            if start == 0 {
                break 0;
            }
            start -= 1;
        };
        let value = base + (index - start) as i128;
        if members[index].value.is_none() {
            self.memo
                .insert(members[index].name.name.clone(), Eval::Done(Some(value)));
        }
        Some(value)
    }

    /// Evaluates a member or const definition `name = value`, memoised, with cycle detection.
    fn named_value(
        &mut self,
        cx: &mut Cx,
        syms: &Symbols,
        name: &Ident,
        value: &Value,
    ) -> Option<i128> {
        match self.memo.get(&name.name) {
            Some(Eval::Done(v)) => return *v,
            // Rule: a constant must not be defined in terms of itself.
            Some(Eval::Busy) => {
                cx.error(
                    value.span(),
                    format!("constant `{}` is defined in terms of itself", name.name),
                );
                self.memo.insert(name.name.clone(), Eval::Done(None));
                return None;
            }
            None => {}
        }
        if self.depth >= MAX_DEPTH {
            cx.error(
                value.span(),
                format!(
                    "constant `{}` names constants more than {MAX_DEPTH} deep",
                    name.name
                ),
            );
            return None;
        }
        self.memo.insert(name.name.clone(), Eval::Busy);
        self.depth += 1;
        let v = self.value(cx, syms, value);
        self.depth -= 1;
        // A cycle found below already recorded the failure for this name.
        if let Some(Eval::Busy) = self.memo.get(&name.name) {
            self.memo.insert(name.name.clone(), Eval::Done(v));
            v
        } else {
            None
        }
    }

    /// The value of a name used where a number is expected.
    fn named(&mut self, cx: &mut Cx, syms: &Symbols, ident: &Ident) -> Option<i128> {
        match syms.get(&ident.name) {
            Some(Symbol::Const(i)) => {
                let c = &syms.consts[i];
                self.named_value(cx, syms, c.name, c.value)
            }
            Some(Symbol::Member { ty, index }) => self.member(cx, syms, ty, index),
            Some(Symbol::Text(_)) => {
                // Rule: a string constant is not a number.
                cx.error(
                    ident.span,
                    format!("`{}` is a string constant, not a number", ident.name),
                );
                None
            }
            Some(Symbol::Type(_)) => {
                // Rule: a type name is not a value.
                cx.error(
                    ident.span,
                    format!("`{}` is a type, not a constant", ident.name),
                );
                None
            }
            None => self.external(cx, ident),
        }
    }

    /// A name no file defines: a user-supplied constant, libtirpc's `TRUE`/`FALSE`, or an error.
    fn external(&mut self, cx: &mut Cx, ident: &Ident) -> Option<i128> {
        if let Some(v) = cx.options.constants.get(&ident.name) {
            self.used_user.insert(ident.name.clone());
            return Some(*v);
        }
        match ident.name.as_str() {
            "TRUE" => return Some(1),
            "FALSE" => return Some(0),
            _ => {}
        }
        // Rule: every constant used must be defined, in the files or by the user.
        cx.error_with(
            ident.span,
            format!("undefined constant `{}`", ident.name),
            &[format!(
                "define it with --constant {}=VALUE (or Config::constant)",
                ident.name
            )],
        );
        None
    }

    /// The Rust name of the constant a size was written with, when the model defines one.
    pub fn size_name(&self, cx: &Cx, syms: &Symbols, value: &Value) -> Option<String> {
        let Value::Named(ident) = value else {
            return None;
        };
        match syms.get(&ident.name) {
            Some(Symbol::Const(_)) => Some(crate::naming::const_name(&ident.name)),
            None if cx.options.constants.contains_key(&ident.name) => {
                Some(crate::naming::const_name(&ident.name))
            }
            _ => None,
        }
    }
}

/// Rule (warning): a user-supplied constant that a file also defines is overridden by the
/// file's definition, which the user probably did not mean.
pub(super) fn check_user_constants_not_redefined(cx: &mut Cx, syms: &Symbols) {
    let mut shadowed: Vec<(&String, Span)> = cx
        .options
        .constants
        .keys()
        .filter_map(|name| syms.names.get(name).map(|(_, span)| (name, *span)))
        .collect();
    shadowed.sort_by_key(|(_, span)| *span);
    for (name, span) in shadowed {
        cx.warning(
            span,
            format!("`{name}` is defined here and also given as a constant option; this definition wins"),
            format!("the value given with --constant {name} (or Config::constant) is not used"),
        );
    }
}
