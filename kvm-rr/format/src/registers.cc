#include "kvmrr/registers.h"

#include <cstring>

namespace kvmrr {

uint64_t register_digest(const Regs& regs) {
  // FNV-1a over the little-endian bytes of the fields, in declaration order.
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 0x100000001b3ull;
    }
  };
  for (uint64_t g : regs.gpr) mix(g, 8);
  mix(regs.rip, 8);
  mix(regs.rflags, 8);
  mix(regs.cpl, 4);
  return h;
}

std::vector<uint8_t> pack_regs(const Regs& regs) {
  uint64_t v[19];
  for (int i = 0; i < 16; i++) v[i] = regs.gpr[i];
  v[16] = regs.rip;
  v[17] = regs.rflags;
  v[18] = regs.cpl;
  std::vector<uint8_t> out(kPackedRegsBytes);
  memcpy(out.data(), v, sizeof v);
  return out;
}

std::optional<Regs> unpack_regs(const std::vector<uint8_t>& data) {
  if (data.size() != kPackedRegsBytes) return std::nullopt;
  uint64_t v[19];
  memcpy(v, data.data(), sizeof v);
  Regs r;
  for (int i = 0; i < 16; i++) r.gpr[i] = v[i];
  r.rip = v[16];
  r.rflags = v[17];
  r.cpl = static_cast<uint32_t>(v[18]);
  return r;
}

}  // namespace kvmrr
