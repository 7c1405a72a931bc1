#include "x86_classify.h"

#include "kvmrr/pmem_log.h"

namespace kvmrr::pmem {

// Opcode maps: 0 one-byte, 1 0F, 2 0F 38, 3 0F 3A.
InsnInfo classify_x86(const uint8_t* b, size_t n) {
  InsnInfo out;
  size_t i = 0;
  bool lock = false, opsize = false;
  for (; i < n; i++) {
    uint8_t p = b[i];
    if (p == 0xf0) {
      lock = true;
    } else if (p == 0x66) {
      opsize = true;
    } else if (p == 0xf2 || p == 0xf3 || p == 0x2e || p == 0x36 || p == 0x3e || p == 0x26 || p == 0x64 || p == 0x65 ||
               p == 0x67) {
    } else {
      break;
    }
  }
  if (i < n && (b[i] & 0xf0) == 0x40) i++;  // REX
  if (i >= n) return out;
  int map = 0;
  uint8_t op = b[i++];
  if (op == 0xc5 && i + 1 < n) {  // two-byte VEX: map 0F, pp in the low bits
    opsize = (b[i] & 3) == 1;
    map = 1;
    i++;
    op = b[i++];
  } else if (op == 0xc4 && i + 2 < n) {  // three-byte VEX
    map = b[i] & 0x1f;
    opsize = (b[i + 1] & 3) == 1;
    i += 2;
    op = b[i++];
  } else if (op == 0x0f && i < n) {
    map = 1;
    op = b[i++];
    if ((op == 0x38 || op == 0x3a) && i < n) {
      map = op == 0x38 ? 2 : 3;
      op = b[i++];
    }
  }
  bool has_modrm = i < n;
  uint8_t modrm = has_modrm ? b[i] : 0;
  uint8_t mod = modrm >> 6, reg = (modrm >> 3) & 7;
  bool mem = has_modrm && mod != 3;

  auto fence = [&](FenceKind k) {
    out.cls = InsnClass::Fence;
    out.kind = uint8_t(k);
    return out;
  };
  // Locked read-modify-writes order all earlier stores, non-temporal ones included.
  if (lock && mem) return fence(FenceKind::Locked);
  if (map == 0) {
    if ((op == 0x86 || op == 0x87) && mem) return fence(FenceKind::Locked);  // xchg: implicit lock
    if (op == 0xcf) return fence(FenceKind::Serializing);                    // iret
    return out;
  }
  if (map == 1) {
    switch (op) {
      case 0xae:
        if (!has_modrm) return out;
        if (mod == 3) {
          if (reg == 7) return fence(FenceKind::Sfence);
          if (reg == 6) return fence(FenceKind::Mfence);
          return out;  // lfence orders loads only; rd/wr fs/gs base
        }
        if (reg == 7) {
          out.cls = InsnClass::Flush;
          out.kind = uint8_t(opsize ? FlushKind::Clflushopt : FlushKind::Clflush);
        } else if (reg == 6 && opsize) {
          out.cls = InsnClass::Flush;
          out.kind = uint8_t(FlushKind::Clwb);
        }
        return out;
      case 0xc3:  // movnti
      case 0x2b:  // movntps / movntpd (and VEX forms)
      case 0xe7:  // movntq / movntdq
      case 0xf7:  // maskmovq / maskmovdqu (store to [rdi])
        if (op == 0xf7 || mem) out.cls = InsnClass::NonTemporalStore;
        return out;
      case 0x09:  // wbinvd: every dirty line written back, and serializing
        out.cls = InsnClass::WriteBackAll;
        out.kind = uint8_t(FlushKind::Wbinvd);
        return out;
      case 0xa2:  // cpuid
      case 0x30:  // wrmsr
      case 0x08:  // invd
      case 0x22:  // mov to control register
      case 0x23:  // mov to debug register
        return fence(FenceKind::Serializing);
      case 0x00:  // lldt, ltr
        if (reg == 2 || reg == 3) return fence(FenceKind::Serializing);
        return out;
      case 0x01:
        if (mem && (reg == 2 || reg == 3 || reg == 7)) return fence(FenceKind::Serializing);  // lgdt lidt invlpg
        if (modrm == 0xe8) return fence(FenceKind::Serializing);                              // serialize
        return out;
      default: return out;
    }
  }
  if (map == 2 && opsize && op == 0x82) return fence(FenceKind::Serializing);  // invpcid
  return out;
}

}  // namespace kvmrr::pmem
