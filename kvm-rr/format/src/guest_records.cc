#include "kvmrr/guest_records.h"

#include <cstring>

#include <fmt/format.h>

#include "kvmrr/error.h"
#include "kvmrr/guest-abi.h"

namespace kvmrr {

std::vector<Event> parse_guest_records(const uint8_t* p, size_t size) {
  std::vector<Event> out;
  using Kind = RecordingError::Kind;
  auto bad = [&](size_t off, const std::string& what) {
    return RecordingError(Kind::Corrupt, "guest ring", fmt::format("record at ring offset {}: {}", off, what));
  };
  for (size_t off = 0; off < size;) {
    kvmrr_record hdr;
    if (size - off < sizeof hdr) throw bad(off, "truncated header");
    memcpy(&hdr, p + off, sizeof hdr);
    if (hdr.size < sizeof hdr || hdr.size % 8 != 0 || hdr.size > size - off) {
      throw bad(off, fmt::format("bad size {}", hdr.size));
    }
    Event e;
    e.vcpu = hdr.vcpu;
    e.rip = hdr.rip;
    switch (hdr.type) {
      case KVMRR_REC_SYSCALL:
      case KVMRR_REC_EXCEPTION:
      case KVMRR_REC_INTERRUPT: {
        kvmrr_entry_record r;
        if (hdr.size != sizeof r) throw bad(off, fmt::format("entry record of {} bytes", hdr.size));
        memcpy(&r, p + off, sizeof r);
        e.type = static_cast<EventType>(hdr.type);
        e.push_arg(r.vector);
        if (hdr.type == KVMRR_REC_EXCEPTION) {
          e.push_arg(r.error_code);
          e.push_arg(r.cr2);
        } else if (hdr.type == KVMRR_REC_INTERRUPT) {
          e.push_arg(1);  // taken in user mode
          e.push_arg(0);  // no sync point: user mode is one
        }
        e.push_arg(r.task);
        const auto* regs = reinterpret_cast<const uint8_t*>(r.regs);
        e.data.assign(regs, regs + sizeof r.regs);
        break;
      }
      case KVMRR_REC_CFU: {
        kvmrr_user_record r;
        if (hdr.size < sizeof r) throw bad(off, fmt::format("user-read record of {} bytes", hdr.size));
        memcpy(&r, p + off, sizeof r);
        if (r.len > hdr.size - sizeof r)
          throw bad(off, fmt::format("user-read of {} bytes in a {}-byte record", r.len, hdr.size));
        e.type = r.kind == KVMRR_UREAD_SCALAR ? EventType::Gfu : EventType::Cfu;
        e.push_arg(r.uaddr);
        e.push_arg(r.len);
        e.push_arg(r.kind);
        e.data.assign(p + off + sizeof r, p + off + sizeof r + r.len);
        break;
      }
      case KVMRR_REC_RDTSC:
      case KVMRR_REC_YIELD_WINDOW: {
        kvmrr_value_record r;
        if (hdr.size != sizeof r) throw bad(off, fmt::format("value record of {} bytes", hdr.size));
        memcpy(&r, p + off, sizeof r);
        e.type = static_cast<EventType>(hdr.type);
        e.push_arg(r.value);
        // A window's pending bits: replay sets the same ones (guest ABI 5).
        if (hdr.type == KVMRR_REC_YIELD_WINDOW) e.push_arg(r.aux);
        break;
      }
      default: throw bad(off, fmt::format("unknown record type {}", hdr.type));
    }
    out.push_back(std::move(e));
    off += hdr.size;
  }
  return out;
}

std::string check_guest_ring_header(uint32_t head, uint32_t size, uint32_t header_size, uint32_t header_struct_size) {
  if (header_size < header_struct_size || header_size > 4096) {
    return fmt::format("header_size {} is not between the ring header's {} bytes and 4096", header_size,
                       header_struct_size);
  }
  if (size > kMaxGuestRingBytes) {
    return fmt::format("size {} is over the {} bytes QEMU copies out", size, kMaxGuestRingBytes);
  }
  if (head > size) return fmt::format("head {} is past the end of the ring (size {})", head, size);
  return "";
}

}  // namespace kvmrr
