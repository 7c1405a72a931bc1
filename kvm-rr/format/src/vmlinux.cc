#include "kvmrr/vmlinux.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "kvmrr/error.h"

namespace kvmrr {

using Kind = RecordingError::Kind;

namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};

// Reads a NUL-terminated string at a virtual address from the section holding it.
std::string string_at(Elf* elf, uint64_t addr) {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS) continue;
    if (addr < sh.sh_addr || addr >= sh.sh_addr + sh.sh_size) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) return {};
    const char* p = static_cast<const char*>(data->d_buf) + (addr - sh.sh_addr);
    size_t max = data->d_size - (addr - sh.sh_addr);
    return std::string(p, strnlen(p, max));
  }
  return {};
}

}  // namespace

Vmlinux::Vmlinux(const std::filesystem::path& path) : path_(path) {
  elf_version(EV_CURRENT);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RecordingError(Kind::Io, path, fmt::format("cannot open: {}", strerror(errno)));
  std::unique_ptr<Elf, ElfCloser> elf(elf_begin(fd, ELF_C_READ, nullptr));
  auto fail = [&](const std::string& what) {
    ::close(fd);
    throw RecordingError(Kind::Corrupt, path, what);
  };
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) fail("not an ELF file");

  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf.get(), scn))) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    if (sh.sh_type == SHT_PROGBITS && sh.sh_addr != 0) {
      sections_.push_back({sh.sh_addr, sh.sh_size, sh.sh_offset});
    }
    if (sh.sh_type == SHT_SYMTAB) {
      size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
      for (size_t i = 0; i < n; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, int(i), &sym)) continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) || sym.st_value == 0 ||
            sym.st_shndx == SHN_UNDEF) {
          continue;
        }
        const char* name = elf_strptr(elf.get(), sh.sh_link, sym.st_name);
        if (!name || !*name) continue;
        symbols_.push_back({sym.st_value, sym.st_size, name, GELF_ST_BIND(sym.st_info) != STB_LOCAL});
      }
    } else if (sh.sh_type == SHT_NOTE) {
      size_t off = 0, name_off, desc_off;
      GElf_Nhdr nh;
      while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            memcmp(static_cast<char*>(data->d_buf) + name_off, "GNU", 4) == 0) {
          const uint8_t* d = static_cast<const uint8_t*>(data->d_buf) + desc_off;
          build_id_.clear();
          for (size_t i = 0; i < nh.n_descsz; i++) build_id_ += fmt::format("{:02x}", d[i]);
        }
      }
    }
  }
  if (symbols_.empty())
    fail("no symbol table (a stripped image cannot drive replay; use the vmlinux the kernel build produced)");
  // Aliases (the same address and size: __x64_sys_getpid and the static __do_sys_getpid it
  // became) name an address by the global one, whatever order the linker wrote them in:
  // symbol_at() takes the last of equals.
  std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
    if (a.addr != b.addr) return a.addr < b.addr;
    if (a.size != b.size) return a.size > b.size;
    if (a.global != b.global) return !a.global;
    return a.name > b.name;
  });
  if (auto b = symbol("linux_banner")) banner_ = string_at(elf.get(), *b);
  while (!banner_.empty() && banner_.back() == '\n') banner_.pop_back();
  elf.reset();
  ::close(fd);
}

std::optional<std::vector<uint8_t>> Vmlinux::read(uint64_t addr, size_t n) const {
  for (const Section& s : sections_) {
    if (addr < s.addr || addr - s.addr > s.size || s.size - (addr - s.addr) < n) continue;
    std::vector<uint8_t> out(n);
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    ssize_t got = ::pread(fd, out.data(), n, off_t(s.offset + (addr - s.addr)));
    ::close(fd);
    if (got != ssize_t(n)) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

std::optional<uint64_t> Vmlinux::symbol(const std::string& name) const {
  for (const Symbol& s : symbols_) {
    if (s.name == name) return s.addr;
  }
  return std::nullopt;
}

std::optional<uint64_t> Vmlinux::symbol_size(const std::string& name) const {
  for (const Symbol& s : symbols_) {
    if (s.name == name) return s.size;
  }
  return std::nullopt;
}

std::string Vmlinux::symbolize(uint64_t addr) const { return symbol_at(addr).value_or(fmt::format("{:#x}", addr)); }

std::optional<std::string> Vmlinux::symbol_at(uint64_t addr) const {
  auto it =
      std::upper_bound(symbols_.begin(), symbols_.end(), addr, [](uint64_t a, const Symbol& s) { return a < s.addr; });
  // Walk back over zero-sized labels to the enclosing sized symbol, if any.
  for (auto s = it; s != symbols_.begin();) {
    --s;
    if (s->size == 0 && s->addr != addr) continue;
    if (addr < s->addr + std::max<uint64_t>(s->size, 1)) {
      return addr == s->addr ? s->name : fmt::format("{}+{:#x}", s->name, addr - s->addr);
    }
    break;
  }
  return std::nullopt;
}

Vmlinux open_recorded_kernel(const std::filesystem::path& path, const std::string& want_build_id) {
  Vmlinux v(path);
  // A recording that names no kernel (made from the monitor before recordings did) takes the
  // one it is given; the caller says so.
  if (!want_build_id.empty() && v.build_id() != want_build_id) {
    throw RecordingError(Kind::Corrupt, path,
                         fmt::format("wrong vmlinux: build-id {}, the recording was made with {}",
                                     v.build_id().empty() ? "none" : v.build_id(),
                                     want_build_id.empty() ? "an unknown kernel" : want_build_id));
  }
  return v;
}

}  // namespace kvmrr
