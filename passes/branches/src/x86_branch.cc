#include "x86_branch.h"

#include <cstring>

namespace kvmrr::branches {

BranchInsn classify_branch(const uint8_t* p, size_t n, uint64_t pc) {
  using T = BranchInsn::Type;
  size_t i = 0;
  // Legacy prefixes, then at most one REX.
  while (i < n && (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xf2 || p[i] == 0xf3 || p[i] == 0x2e || p[i] == 0x3e ||
                   p[i] == 0x26 || p[i] == 0x36 || p[i] == 0x64 || p[i] == 0x65 || p[i] == 0xf0)) {
    i++;
  }
  if (i < n && (p[i] & 0xf0) == 0x40) i++;
  if (i >= n) return {};
  uint8_t op = p[i];
  uint64_t next = pc + n;
  auto rel = [&](size_t at, size_t width) -> uint64_t {
    if (at + width > n) return 0;
    if (width == 1) return next + int64_t(int8_t(p[at]));
    int32_t v;
    memcpy(&v, p + at, 4);
    return next + int64_t(v);
  };
  uint8_t reg = i + 1 < n ? (p[i + 1] >> 3) & 7 : 0;
  switch (op) {
    case 0xe8: return {T::Call, rel(i + 1, 4)};
    case 0xe9: return {T::Jump, rel(i + 1, 4)};
    case 0xeb: return {T::Jump, rel(i + 1, 1)};
    case 0xc2:
    case 0xc3:
    case 0xca:
    case 0xcb: return {T::Return, 0};
    case 0xcf: return {T::Iret, 0};
    case 0xea: return {T::Jump, 0};
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3: return {T::CondJump, rel(i + 1, 1)};
    case 0xff:
      if (reg == 2 || reg == 3) return {T::Call, 0};
      if (reg == 4 || reg == 5) return {T::Jump, 0};
      return {};
    case 0x0f:
      if (i + 1 >= n) return {};
      if (p[i + 1] >= 0x80 && p[i + 1] <= 0x8f) return {T::CondJump, rel(i + 2, 4)};
      if (p[i + 1] == 0x07 || p[i + 1] == 0x35) return {T::Sysret, 0};
      return {};
    default:
      if (op >= 0x70 && op <= 0x7f) return {T::CondJump, rel(i + 1, 1)};
      return {};
  }
}

}  // namespace kvmrr::branches
