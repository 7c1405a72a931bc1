#pragma once
// Errors about a recording. Every one names the file it is about and, where it applies, the
// byte offset, so a user can see exactly which part of a recording is bad.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace kvmrr {

class RecordingError : public std::runtime_error {
 public:
  enum class Kind {
    Io,         // the OS refused: missing file, permission, full disk
    Corrupt,    // bytes present but wrong: checksum, magic, encoding, invalid JSON
    Version,    // written by another format version
    Truncated,  // ends in the middle of something
  };

  RecordingError(Kind kind, std::filesystem::path file, std::string message,
                 std::optional<uint64_t> offset = std::nullopt);

  Kind kind() const { return kind_; }
  const std::filesystem::path& file() const { return file_; }
  std::optional<uint64_t> offset() const { return offset_; }
  // The message without the "FILE[ at offset N]: " prefix what() carries.
  const std::string& detail() const { return detail_; }

 private:
  Kind kind_;
  std::filesystem::path file_;
  std::optional<uint64_t> offset_;
  std::string detail_;
};

const char* to_string(RecordingError::Kind kind);

}  // namespace kvmrr
