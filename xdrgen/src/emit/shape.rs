//! Facts about types that the emitters need, computed from the model: the real shape behind an
//! alias, encoded sizes, and which traits a type can derive.
//!
//! Every walk follows `Named` types through the model; walks that could loop (a type reaching
//! itself through optional data) stop at `Optional` or carry a depth limit, so a malformed model
//! cannot hang the generator.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use crate::model::{Field, Model, Type, TypeDef, TypeKind, Union};

/// How deep a walk through named types may go before giving up: far beyond any real nesting.
const MAX_DEPTH: u32 = 64;

/// What a type is once aliases are followed.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// A type that is not `Named`, or a named type the model does not define.
    Plain(&'a Type),
    /// A named enum, struct or union.
    Def(&'a TypeDef),
}

/// Follows aliases until a type that is not an alias (chains are short; loops stop at the limit).
pub fn resolve<'a>(model: &'a Model, ty: &'a Type) -> Shape<'a> {
    let mut ty = ty;
    for _ in 0..MAX_DEPTH {
        let Type::Named(r) = ty else {
            return Shape::Plain(ty);
        };
        match model.type_def(&r.xdr_name) {
            Some(TypeDef {
                kind: TypeKind::Alias(target),
                ..
            }) => ty = target,
            Some(def) => return Shape::Def(def),
            None => return Shape::Plain(ty),
        }
    }
    Shape::Plain(ty)
}

/// Encoded sizes of types, remembered per named type: without that, a type used twice by each
/// of forty nested structs would be walked 2^40 times.
pub struct Sizes<'a> {
    model: &'a Model,
    fixed: RefCell<HashMap<String, Option<usize>>>,
    min: RefCell<HashMap<String, usize>>,
}

impl<'a> Sizes<'a> {
    /// An empty cache for the types of `model`.
    pub fn new(model: &'a Model) -> Self {
        Sizes {
            model,
            fixed: RefCell::default(),
            min: RefCell::default(),
        }
    }

    /// The encoded size of every value of the type, when it is the same for all of them.
    pub fn fixed_size(&self, ty: &Type) -> Option<usize> {
        self.fixed_at(ty, 0)
    }

    /// [`fixed_size`](Sizes::fixed_size) of a type definition's values.
    pub fn fixed_def_size(&self, def: &TypeDef) -> Option<usize> {
        self.fixed_def_at(def, 0)
    }

    fn fixed_at(&self, ty: &Type, depth: u32) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        match resolve(self.model, ty) {
            Shape::Def(def) => self.fixed_def_at(def, depth),
            Shape::Plain(ty) => match ty {
                Type::Hyper | Type::UnsignedHyper | Type::Double => Some(8),
                Type::FixedOpaque(n) => Some(padded(n.value)),
                Type::FixedArray(inner, n) => self
                    .fixed_at(inner, depth + 1)?
                    .checked_mul(n.value as usize),
                Type::Named(_)
                | Type::Extern { .. }
                | Type::VarOpaque(_)
                | Type::String(_)
                | Type::VarArray(..)
                | Type::Optional { .. } => None,
                _ => Some(4),
            },
        }
    }

    fn fixed_def_at(&self, def: &TypeDef, depth: u32) -> Option<usize> {
        if let Some(&size) = self.fixed.borrow().get(&def.xdr_name) {
            return size;
        }
        let size = match &def.kind {
            TypeKind::Enum(_) => Some(4),
            TypeKind::Struct(s) => s.fields.iter().try_fold(0usize, |sum, f| {
                sum.checked_add(self.fixed_at(&f.ty, depth + 1)?)
            }),
            // Arms usually differ; a union's size is computed per value.
            TypeKind::Union(_) | TypeKind::Alias(_) => None,
        };
        self.fixed.borrow_mut().insert(def.xdr_name.clone(), size);
        size
    }

    /// The smallest encoded size of one value of the type (0 for extern types, which may
    /// encode to nothing): the `min_element_size` that lets `Decoder::get_array` and
    /// `Decoder::get_var_array` refuse counts the remaining bytes cannot hold.
    pub fn min_size(&self, ty: &Type) -> usize {
        self.min_at(ty, 0)
    }

    fn min_at(&self, ty: &Type, depth: u32) -> usize {
        if depth > MAX_DEPTH {
            return 0;
        }
        match resolve(self.model, ty) {
            Shape::Def(def) => {
                if let Some(&size) = self.min.borrow().get(&def.xdr_name) {
                    return size;
                }
                let size = match &def.kind {
                    TypeKind::Enum(_) | TypeKind::Alias(_) => 4,
                    TypeKind::Struct(s) => s
                        .fields
                        .iter()
                        .map(|f| self.min_at(&f.ty, depth + 1))
                        .fold(0usize, usize::saturating_add),
                    TypeKind::Union(u) => 4usize.saturating_add(self.union_min_arm(u, depth)),
                };
                self.min.borrow_mut().insert(def.xdr_name.clone(), size);
                size
            }
            Shape::Plain(ty) => match ty {
                Type::Hyper | Type::UnsignedHyper | Type::Double => 8,
                Type::FixedOpaque(n) => padded(n.value),
                Type::FixedArray(inner, n) => self
                    .min_at(inner, depth + 1)
                    .saturating_mul(n.value as usize),
                // Unknown (extern) types may encode to nothing at all.
                Type::Extern { .. } | Type::Named(_) => 0,
                _ => 4,
            },
        }
    }

    fn union_min_arm(&self, u: &Union, depth: u32) -> usize {
        let arm = |f: Option<&Field>| f.map_or(0, |f| self.min_at(&f.ty, depth + 1));
        let cases = u.cases.iter().map(|c| arm(c.field.as_ref()));
        let default = u.default.iter().map(|d| arm(d.as_ref()));
        cases.chain(default).min().unwrap_or(0)
    }
}

/// `n` rounded up to a multiple of 4.
pub fn padded(n: u32) -> usize {
    (n as usize).div_ceil(4) * 4
}

/// Whether a `f32`/`f64` (or an extern type, which may hold one) is reachable from a type
/// definition: such types cannot derive `Eq` and `Hash`.
pub fn def_has_float(model: &Model, def: &TypeDef) -> bool {
    def_reaches(model, def, &mut Vec::new(), &|t| {
        matches!(t, Type::Float | Type::Double | Type::Extern { .. })
    })
}

fn any_reachable<'a>(
    model: &'a Model,
    ty: &'a Type,
    seen: &mut Vec<&'a str>,
    pred: &dyn Fn(&Type) -> bool,
) -> bool {
    if pred(ty) {
        return true;
    }
    match ty {
        Type::FixedArray(inner, _) | Type::VarArray(inner, _) | Type::Optional { inner, .. } => {
            any_reachable(model, inner, seen, pred)
        }
        Type::Named(r) => {
            if seen.contains(&r.xdr_name.as_str()) {
                return false;
            }
            seen.push(&r.xdr_name);
            model
                .type_def(&r.xdr_name)
                .is_some_and(|def| def_reaches(model, def, seen, pred))
        }
        _ => false,
    }
}

fn def_reaches<'a>(
    model: &'a Model,
    def: &'a TypeDef,
    seen: &mut Vec<&'a str>,
    pred: &dyn Fn(&Type) -> bool,
) -> bool {
    match &def.kind {
        TypeKind::Alias(t) => any_reachable(model, t, seen, pred),
        TypeKind::Enum(_) => false,
        TypeKind::Struct(s) => s
            .fields
            .iter()
            .any(|f| any_reachable(model, &f.ty, seen, pred)),
        TypeKind::Union(u) => {
            any_reachable(model, &u.discriminant, seen, pred)
                || u.arm_fields()
                    .any(|f| any_reachable(model, &f.ty, seen, pred))
        }
    }
}

/// Whether values of the type are `Copy` (scalars, enums, fixed opaque, fixed arrays of those),
/// so generated code copies instead of calling `clone`.
pub fn is_copy(model: &Model, ty: &Type) -> bool {
    match resolve(model, ty) {
        Shape::Def(def) => matches!(def.kind, TypeKind::Enum(_)),
        Shape::Plain(ty) => match ty {
            Type::FixedOpaque(_) => true,
            Type::FixedArray(inner, _) => is_copy(model, inner),
            Type::Named(_)
            | Type::Extern { .. }
            | Type::VarOpaque(_)
            | Type::String(_)
            | Type::VarArray(..)
            | Type::Optional { .. } => false,
            _ => true,
        },
    }
}

/// Why the Rust type of `ty` cannot be a whole message body (a procedure's argument, result or
/// event payload: it must implement the runtime's `Encode` and `Decode` on its own and send the
/// same bytes as rpcgen), or `None` when it can. Named enums, structs and unions have generated
/// impls; scalars, strings, opaque data and extern types have the runtime's; and the runtime
/// implements the shapes a typedef names (`[T; N]`, `VarArray<T, N>`, `Option<T>`, `Box<T>`)
/// over elements that have them. The exception is a fixed array of `unsigned char` outside any
/// struct or union: Rust holds it as `[u8; N]`, whose own codec is fixed-length opaque data (N
/// bytes), while rpcgen sends N words. Aliases are followed; a name the model does not define
/// has no codec either.
pub fn codec_problem(model: &Model, ty: &Type) -> Option<&'static str> {
    codec_problem_at(model, ty, 0)
}

fn codec_problem_at(model: &Model, ty: &Type, depth: u32) -> Option<&'static str> {
    if depth > MAX_DEPTH {
        return Some("is nested too deeply");
    }
    match resolve(model, ty) {
        Shape::Def(_) => None,
        Shape::Plain(ty) => match ty {
            Type::Named(_) => Some("is not defined"),
            Type::FixedArray(inner, _) => {
                if matches!(resolve(model, inner), Shape::Plain(Type::UnsignedChar)) {
                    Some(
                        "holds a fixed array of `unsigned char`, whose Rust type `[u8; N]` \
                         would be sent as `opaque[N]` instead of N words",
                    )
                } else {
                    codec_problem_at(model, inner, depth + 1)
                }
            }
            Type::VarArray(inner, _) | Type::Optional { inner, .. } => {
                codec_problem_at(model, inner, depth + 1)
            }
            _ => None,
        },
    }
}

/// The structs and unions whose decoders generated code marks `#[inline]`: the flat ones (see
/// [`is_flat`]) that are elements of an array somewhere in the model, and the flat ones inside
/// those. Inlined into the loop that decodes the array, such a decoder builds each element in
/// place instead of returning it through memory; on libvirt's lists of names and typed
/// parameters that took a quarter to a third off the decode (issue 13). Other types keep
/// out-of-line decoders, which keeps the generated crate's build time down.
pub fn inlined_decoders(model: &Model) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut elements = Vec::new();
    for def in model.modules.iter().flat_map(|m| &m.types) {
        match &def.kind {
            TypeKind::Alias(ty) => array_elements(ty, &mut elements),
            _ => def_fields(def).for_each(|f| array_elements(&f.ty, &mut elements)),
        }
    }
    for ty in elements {
        if let Shape::Def(def) = resolve(model, ty) {
            if is_flat(model, def, 0) {
                add_flat(model, def, &mut found, 0);
            }
        }
    }
    found
}

/// The element types of the arrays `ty` is or holds (through arrays and optional data).
fn array_elements<'a>(ty: &'a Type, out: &mut Vec<&'a Type>) {
    match ty {
        Type::FixedArray(inner, _) | Type::VarArray(inner, _) => {
            out.push(inner);
            array_elements(inner, out);
        }
        Type::Optional { inner, .. } => array_elements(inner, out),
        _ => {}
    }
}

/// Puts `def` and the structs and unions inside it into `found` (all flat, as `def` is).
fn add_flat(model: &Model, def: &TypeDef, found: &mut HashSet<String>, depth: u32) {
    if depth > MAX_DEPTH || matches!(def.kind, TypeKind::Enum(_)) {
        return;
    }
    if !found.insert(def.xdr_name.clone()) {
        return;
    }
    for f in def_fields(def) {
        if let Shape::Def(inner) = resolve(model, &f.ty) {
            add_flat(model, inner, found, depth + 1);
        }
    }
}

/// The fields of a struct or union (every arm's), none for other kinds.
fn def_fields(def: &TypeDef) -> impl Iterator<Item = &Field> {
    let (fields, arms) = match &def.kind {
        TypeKind::Struct(s) => (s.fields.as_slice(), None),
        TypeKind::Union(u) => (&[][..], Some(u)),
        TypeKind::Enum(_) | TypeKind::Alias(_) => (&[][..], None),
    };
    fields
        .iter()
        .chain(arms.into_iter().flat_map(Union::arm_fields))
}

/// Whether decoding `def` runs no loop and allocates nothing of its own: its fields are
/// scalars, enums, strings and opaque data, or flat structs and unions. Arrays (other than
/// opaque data), optional data, recursive and extern types are not flat.
fn is_flat(model: &Model, def: &TypeDef, depth: u32) -> bool {
    if depth > MAX_DEPTH || def.recursive {
        return false;
    }
    let flat = |ty: &Type| match resolve(model, ty) {
        Shape::Def(inner) => is_flat(model, inner, depth + 1),
        Shape::Plain(ty) => !matches!(
            ty,
            Type::Named(_)
                | Type::Extern { .. }
                | Type::FixedArray(..)
                | Type::VarArray(..)
                | Type::Optional { .. }
        ),
    };
    match &def.kind {
        TypeKind::Enum(_) => true,
        TypeKind::Alias(_) => false,
        TypeKind::Struct(_) => def_fields(def).all(|f| flat(&f.ty)),
        TypeKind::Union(u) => flat(&u.discriminant) && def_fields(def).all(|f| flat(&f.ty)),
    }
}

/// For a recursive struct whose last field is optional data of the struct itself (a linked
/// list, possibly through a pointer typedef): that field's index. Such structs get iterative
/// encode, decode, drop, clone and comparison.
pub fn list_link(model: &Model, def: &TypeDef) -> Option<usize> {
    let TypeKind::Struct(s) = &def.kind else {
        return None;
    };
    if !def.recursive {
        return None;
    }
    let last = s.fields.last()?;
    let Shape::Plain(Type::Optional { inner, boxed: true }) = resolve(model, &last.ty) else {
        return None;
    };
    let Type::Named(r) = inner.as_ref() else {
        return None;
    };
    // The link must name the struct itself, not an alias of it, so the field's Rust type is
    // exactly `Option<Box<Self>>`.
    (r.xdr_name == def.xdr_name).then(|| s.fields.len() - 1)
}

/// Whether values of `ty` can hold a recursive type (directly or in arrays and optional data),
/// so random generation must shrink as it nests.
pub fn holds_recursive(model: &Model, ty: &Type) -> bool {
    match resolve(model, ty) {
        Shape::Def(def) => def.recursive,
        Shape::Plain(Type::FixedArray(inner, _) | Type::VarArray(inner, _)) => {
            holds_recursive(model, inner)
        }
        Shape::Plain(Type::Optional { inner, .. }) => holds_recursive(model, inner),
        Shape::Plain(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(set: HashSet<String>) -> Vec<String> {
        let mut v: Vec<String> = set.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn decoders_inlined_are_the_flat_array_elements_and_what_they_hold() {
        let model = crate::check::tests::model(
            "enum color { RED = 0, GREEN = 1 };
             union value switch (int kind) { case 0: int i; case 1: string s<16>; default: void; };
             struct param { string field<8>; value v; color c; opaque id[16]; };
             struct params { param items<4>; };
             typedef param param_pair[2];
             struct named { string name<8>; };
             struct holder { named *maybe; named many<>; };
             struct nested { int list<4>; };
             struct deep { nested n; };
             struct decks { deep all<2>; };
             struct node { int v; node *next; };
             struct chain { node nodes<3>; };
             struct alone { string s<8>; int x; };",
        );
        assert_eq!(
            sorted(inlined_decoders(&model)),
            // `param` and what it holds (a union, not the enum); `named` (an array's element,
            // whatever the optional field beside it). Not: `deep` (holds an array), `node`
            // (recursive), `alone` (no array holds it), and the containers themselves.
            ["named", "param", "value"]
        );
    }
}
