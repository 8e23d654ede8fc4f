//! Pass 5: fixed-size data too large for a Rust value.
//!
//! A fixed array or fixed opaque is stored inline as a Rust array (`[T; N]`), so a value of a
//! type holding one is at least `N` times its element's size, and it passes through the stack
//! while it is decoded or built. rpcgen accepts `opaque x[4294967295]`, but the Rust array would
//! be 4 GiB: rustc rejects such a type on 32-bit targets and no thread's stack holds it. Such
//! declarations are errors, and so are types whose fields add up to more than the limit (forty
//! structs each holding two of the one before make a value of 2^40 times the first); data that
//! large belongs in a variable-length `<>` declaration, which Rust keeps on the heap.
//!
//! Sizes are estimates of the Rust layout (`int` 4 bytes, `char` 1, `string<>` and every
//! variable-length or boxed value one heap handle of 24 or 8 bytes, a union its largest arm plus
//! the discriminant, an extern type 1 byte), exact enough to tell kilobytes from gigabytes.

use std::collections::HashMap;

use crate::model::{Field, Type, TypeDef, TypeKind};

use super::symbols::Symbols;
use super::Cx;
use crate::source::Span;

/// The largest Rust value, in bytes, one fixed-size declaration may make: 64 KiB. Such values
/// are built on the stack while decoding (a few copies deep in debug builds), and threads often
/// have 2 MiB of it.
pub(super) const MAX_FIXED_BYTES: u64 = 64 << 10;

/// Named types deeper than this are not measured (counted as 0 bytes): a guard for the stack,
/// far beyond real nesting.
const MAX_DEPTH: u32 = 256;

/// Rule: no Rust value of a declaration or type exceeds [`MAX_FIXED_BYTES`]. Each excess is
/// reported once, where it arises: at a fixed array or opaque over the limit whose elements are
/// not, else at a type whose fields (or arms) add up to more while none is over on its own.
pub(super) fn check_fixed_sizes(cx: &mut Cx, syms: &Symbols, defs: &[TypeDef]) {
    let mut sizes = Sizes {
        defs,
        index: defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.xdr_name.as_str(), i))
            .collect(),
        memo: vec![None; defs.len()],
    };
    for (i, (item, def)) in syms.types.iter().zip(defs).enumerate() {
        let declarations: Vec<(Option<&Field>, &Type)> = match &def.kind {
            TypeKind::Alias(ty) => vec![(None, ty)],
            TypeKind::Enum(_) => Vec::new(),
            TypeKind::Struct(s) => s.fields.iter().map(|f| (Some(f), &f.ty)).collect(),
            TypeKind::Union(u) => u.arm_fields().map(|f| (Some(f), &f.ty)).collect(),
        };
        let mut parts_over = false;
        for &(field, ty) in &declarations {
            parts_over |= sizes.of_type(ty, 0) > MAX_FIXED_BYTES;
            let Some(bytes) = sizes.oversized_array(ty) else {
                continue;
            };
            let (name, span) = match field {
                Some(f) => (
                    format!("fixed-size `{}.{}`", def.xdr_name, f.xdr_name),
                    item.field_span(&f.xdr_name).unwrap_or(item.name.span),
                ),
                None => (format!("fixed-size `{}`", def.xdr_name), item.name.span),
            };
            too_large(cx, span, &name, bytes);
        }
        let bytes = sizes.of_def(i, 0);
        if bytes > MAX_FIXED_BYTES && !parts_over {
            let name = format!("{} `{}`", item.body.keyword(), def.xdr_name);
            too_large(cx, item.name.span, &name, bytes);
        }
    }
}

/// Reports that `what` would make a Rust value of `bytes` bytes.
fn too_large(cx: &mut Cx, span: Span, what: &str, bytes: u64) {
    cx.error(
        span,
        format!(
            "{what} would be {bytes} bytes in Rust, over the {} KiB limit; \
             use a variable-length `<>` declaration for data this large",
            MAX_FIXED_BYTES >> 10
        ),
    );
}

/// Estimated in-memory sizes of model types, memoised per type definition.
struct Sizes<'a> {
    defs: &'a [TypeDef],
    index: HashMap<&'a str, usize>,
    memo: Vec<Option<u64>>,
}

impl Sizes<'_> {
    /// The size of the first fixed array or opaque in `ty` that is over the limit while its
    /// elements are not.
    fn oversized_array(&mut self, ty: &Type) -> Option<u64> {
        match ty {
            Type::FixedOpaque(n) => {
                let bytes = u64::from(n.value);
                (bytes > MAX_FIXED_BYTES).then_some(bytes)
            }
            Type::FixedArray(inner, n) => {
                if let Some(bytes) = self.oversized_array(inner) {
                    return Some(bytes);
                }
                let each = self.of_type(inner, 0);
                let bytes = each.saturating_mul(u64::from(n.value));
                (each <= MAX_FIXED_BYTES && bytes > MAX_FIXED_BYTES).then_some(bytes)
            }
            Type::VarArray(inner, _) | Type::Optional { inner, .. } => self.oversized_array(inner),
            _ => None,
        }
    }

    /// The estimated size of a Rust value of type `ty`.
    fn of_type(&mut self, ty: &Type, depth: u32) -> u64 {
        match ty {
            Type::Bool | Type::Char | Type::UnsignedChar => 1,
            Type::Short | Type::UnsignedShort => 2,
            Type::Int | Type::UnsignedInt | Type::Float => 4,
            Type::Hyper | Type::UnsignedHyper | Type::Double => 8,
            // Vec and String: pointer, length, capacity.
            Type::VarOpaque(_) | Type::String(_) | Type::VarArray(..) => 24,
            Type::Optional { boxed: true, .. } => 8,
            Type::Optional { inner, .. } => self.of_type(inner, depth),
            Type::FixedOpaque(n) => u64::from(n.value),
            Type::FixedArray(inner, n) => self
                .of_type(inner, depth)
                .saturating_mul(u64::from(n.value)),
            // A user type of unknown layout: at least a byte, so its arrays are bounded too.
            Type::Extern { .. } => 1,
            Type::Named(r) => match self.index.get(r.xdr_name.as_str()) {
                Some(&i) => self.of_def(i, depth + 1),
                None => 0,
            },
        }
    }

    /// The estimated size of a value of `defs[i]`.
    fn of_def(&mut self, i: usize, depth: u32) -> u64 {
        if let Some(size) = self.memo[i] {
            return size;
        }
        if depth > MAX_DEPTH {
            return 0;
        }
        // A cycle of inline types is reported by the recursion pass; count it as empty here.
        self.memo[i] = Some(0);
        let defs = self.defs;
        let size = match &defs[i].kind {
            TypeKind::Alias(ty) => self.of_type(ty, depth),
            TypeKind::Enum(_) => 4,
            TypeKind::Struct(s) => s.fields.iter().fold(0, |sum: u64, f| {
                sum.saturating_add(self.of_type(&f.ty, depth))
            }),
            TypeKind::Union(u) => {
                let largest = u
                    .arm_fields()
                    .map(|f| self.of_type(&f.ty, depth))
                    .max()
                    .unwrap_or(0);
                largest.saturating_add(4)
            }
        };
        self.memo[i] = Some(size);
        size
    }
}
