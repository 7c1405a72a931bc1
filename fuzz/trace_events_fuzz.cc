// The trace-stream reader's event decoding (TraceReader::next), past the stream's checksums
// and compression: the input is one frame's decompressed events, which this harness wraps
// in a valid stream (header, a zstd-compressed frame with correct CRCs, END) the way
// TraceWriter lays it out (kvm-rr/format/src/trace_stream.cc). The first 4 input bytes are
// the frame's event count. Decoded or refused with RecordingError, never a read past the
// frame.
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "kvmrr/error.h"
#include "kvmrr/format.h"
#include "kvmrr/trace_stream.h"

namespace {

void put32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
void put64(uint8_t* p, uint64_t v) { memcpy(p, &v, 8); }
uint32_t crc(const void* d, size_t n) { return crc32(0, static_cast<const Bytef*>(d), n); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t count;
  memcpy(&count, data, 4);
  count %= 4096;
  const uint8_t* raw = data + 4;
  size_t raw_size = size - 4;
  std::vector<uint8_t> z(ZSTD_compressBound(raw_size));
  size_t zn = ZSTD_compress(z.data(), z.size(), raw, raw_size, 1);
  if (ZSTD_isError(zn)) return 0;
  z.resize(zn);

  std::vector<uint8_t> s(kvmrr::kStreamHeaderSize, 0);
  memcpy(s.data(), "KVMRREVT", 8);
  put32(s.data() + 8, kvmrr::kFormatVersion);
  put32(s.data() + 12, kvmrr::kStreamHeaderSize);
  put32(s.data() + 28, crc(s.data(), 28));
  auto frame = [&](uint32_t kind, uint64_t first, uint32_t n, uint32_t raw_bytes, const std::vector<uint8_t>& payload) {
    uint8_t h[kvmrr::kFrameHeaderSize] = {};
    put32(h, 0x314d5246);  // "FRM1"
    put32(h + 4, kind);
    put64(h + 8, first);
    put32(h + 16, n);
    put32(h + 20, raw_bytes);
    put32(h + 24, uint32_t(payload.size()));
    put32(h + 28, crc(payload.data(), payload.size()));
    put32(h + 32, crc(h, 32));
    s.insert(s.end(), h, h + sizeof h);
    s.insert(s.end(), payload.begin(), payload.end());
  };
  frame(1, 0, count, uint32_t(raw_size), z);
  frame(2, count, 0, 0, {});

  auto path = kvmrr::fuzz::write_input("events", s.data(), s.size());
  try {
    kvmrr::TraceReader r(path);
    kvmrr::Event e;
    while (r.next(e)) (void)kvmrr::describe(e);
  } catch (const kvmrr::RecordingError&) {
  }
  return 0;
}
