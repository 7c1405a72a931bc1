#pragma once
// The guest kernel's ELF image (vmlinux), read with libelf. Replay finds hook functions by
// symbol name here, never by hard-coded address, and divergence reports symbolize RIPs
// with it. The guest is built without KASLR, so symbol values are run-time addresses.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kvmrr {

class Vmlinux {
 public:
  // Throws RecordingError(Io/Corrupt) naming the file when it is missing, not ELF, or has no
  // symbol table (a stripped image cannot drive replay).
  explicit Vmlinux(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // Address of a function or object symbol.
  std::optional<uint64_t> symbol(const std::string& name) const;
  // Its size in the symbol table (0 for a label), nullopt without the symbol.
  std::optional<uint64_t> symbol_size(const std::string& name) const;
  // "name" or "name+0xoff" for an address inside a known function or object; nullopt for
  // an address outside every symbol.
  std::optional<std::string> symbol_at(uint64_t addr) const;
  // symbol_at(), or the address in hex ("0x...") outside every symbol.
  std::string symbolize(uint64_t addr) const;
  // The kernel's linux_banner ("Linux version 6.1..."), empty if the image has none.
  const std::string& banner() const { return banner_; }
  // Hex GNU build-id (the linker's hash of the image): the identity a recording stores.
  // Empty when the image has no build-id note.
  const std::string& build_id() const { return build_id_; }
  size_t symbol_count() const { return symbols_.size(); }
  // n bytes of the image at a kernel virtual address (from its loaded sections), or
  // nullopt when the range is not inside one.
  std::optional<std::vector<uint8_t>> read(uint64_t addr, size_t n) const;

 private:
  struct Symbol {
    uint64_t addr;
    uint64_t size;
    std::string name;
    bool global;
  };
  std::filesystem::path path_;
  std::vector<Symbol> symbols_;  // sorted by address
  struct Section {
    uint64_t addr, size, offset;
  };
  std::vector<Section> sections_;  // PROGBITS sections with an address
  std::string banner_;
  std::string build_id_;
};

// Opens the vmlinux a recording was made with: throws RecordingError (Corrupt, naming the
// file) when its build-id is not want_build_id ("wrong vmlinux"). An empty want_build_id (a
// recording that names no kernel) accepts any vmlinux: the caller decides whether to ask.
Vmlinux open_recorded_kernel(const std::filesystem::path& path, const std::string& want_build_id);

}  // namespace kvmrr
