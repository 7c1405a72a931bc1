#pragma once
// What the pmem pass needs to know about one x86-64 instruction, from its bytes alone:
// whether it flushes a cache line, orders stores (a fence), or stores non-temporally.
// Plugins see instruction bytes but no decoded form, so this is a small decoder of
// prefixes, opcode maps and the ModRM byte; everything else counts as an ordinary
// instruction whose stores are cached.
#include <cstddef>
#include <cstdint>

namespace kvmrr::pmem {

enum class InsnClass : uint8_t { Plain, Flush, Fence, NonTemporalStore, WriteBackAll };

struct InsnInfo {
  InsnClass cls = InsnClass::Plain;
  uint8_t kind = 0;  // FlushKind for Flush, FenceKind for Fence
};

InsnInfo classify_x86(const uint8_t* bytes, size_t n);

}  // namespace kvmrr::pmem
