//! A `string` lifted out of a plugin without copying more than its first `N` bytes.
//!
//! wasmtime lifts a `string` whole: a plugin that answers an error with a 100 MiB message
//! makes the host allocate and fill 100 MiB before the host can cap it. The error's code and
//! message are only ever shown capped, so [`Prefix`] reads the bounds of the string (as the
//! canonical ABI requires) and copies only the part that will be shown.
//!
//! This uses the component model's lifting interface that `#[derive(Lift)]` expands to
//! (`wasmtime::component::__internal`): hidden, but stable within the pinned wasmtime.

use wasmtime::component::__internal::wasmtime_environ::component::StringEncoding;
use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift};
use wasmtime::ValRaw;

/// The component model's tag on a `latin1+utf16` string length that says "utf16".
const UTF16_TAG: usize = 1 << 31;

/// The first `N` bytes (at most) of a guest string, decoded lossily, and its whole length
/// in bytes as the guest encoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix<const N: usize> {
    pub text: String,
    /// The string's length in the guest's encoding, whatever was copied.
    pub guest_len: usize,
}

impl<const N: usize> Prefix<N> {
    fn read(cx: &mut LiftContext<'_>, ptr: usize, len: usize) -> wasmtime::Result<Self> {
        let encoding = cx.options().string_encoding;
        // The unit size and count, as the canonical ABI defines the length.
        let (unit, units) = match encoding {
            StringEncoding::Utf8 => (1, len),
            StringEncoding::Utf16 => (2, len),
            StringEncoding::CompactUtf16 if len & UTF16_TAG == 0 => (1, len),
            StringEncoding::CompactUtf16 => (2, len ^ UTF16_TAG),
        };
        let bytes = units
            .checked_mul(unit)
            .ok_or_else(|| wasmtime::format_err!("string length overflows"))?;
        // latin1+utf16 strings are 2-aligned whichever form they take, as wasmtime checks.
        let align = match encoding {
            StringEncoding::Utf8 => 1,
            _ => 2,
        };
        if !ptr.is_multiple_of(align) {
            wasmtime::bail!("string pointer not aligned to {align}");
        }
        // Out of bounds traps exactly as a whole lift would; only the copy is bounded.
        let memory = cx.memory();
        let end = ptr
            .checked_add(bytes)
            .filter(|end| *end <= memory.len())
            .ok_or_else(|| {
                wasmtime::format_err!("string pointer/length out of bounds of memory")
            })?;
        let shown = bytes.min(N) / unit * unit;
        cx.consume_fuel(shown)?;
        let raw = &memory[ptr..end][..shown];
        let text = match (encoding, unit) {
            (StringEncoding::Utf8, _) => String::from_utf8_lossy(raw).into_owned(),
            (_, 1) => raw.iter().map(|&b| char::from(b)).collect(),
            _ => char::decode_utf16(
                raw.chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]])),
            )
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
        };
        let mut text = text;
        if shown < bytes {
            // Cut here: say so, whatever the encoding made of the byte count.
            text.push('…');
        }
        Ok(Prefix {
            text,
            guest_len: bytes,
        })
    }
}

// SAFETY: the same ABI as `str` (a pointer and a length, both u32), checked by `typecheck`
// against the WIT `string`; `read` bounds-checks against the guest memory before reading.
unsafe impl<const N: usize> ComponentType for Prefix<N> {
    type Lower = [ValRaw; 2];

    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, _types: &InstanceType<'_>) -> wasmtime::Result<()> {
        match ty {
            InterfaceType::String => Ok(()),
            _ => wasmtime::bail!("expected `string`"),
        }
    }
}

// SAFETY: reads only within the guest memory, see `read`.
unsafe impl<const N: usize> Lift for Prefix<N> {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        _ty: InterfaceType,
        src: &Self::Lower,
    ) -> wasmtime::Result<Self> {
        let (ptr, len) = (src[0].get_u32(), src[1].get_u32());
        Self::read(cx, ptr as usize, len as usize)
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        _ty: InterfaceType,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Self::read(cx, word(0) as usize, word(4) as usize)
    }
}
