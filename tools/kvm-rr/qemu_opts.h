#pragma once
// One QEMU option value ("file=a.img,if=virtio", "stdio,id=con0") as QEMU parses it: a list
// of key=value pairs, where a first element without '=' is the option's implied key (the
// chardev backend, the device driver), and ",," stands for a comma inside a value. The
// recorded command line is made into the replaying one through this, not by text surgery.
#include <optional>
#include <string>
#include <vector>

namespace kvmrr {

class QemuOpts {
 public:
  static QemuOpts parse(const std::string& text);
  std::string str() const;

  // The value of the first element without '=' (implied key), if any.
  std::optional<std::string> implied() const;
  std::optional<std::string> get(const std::string& key) const;
  // Replaces the value of key, or appends key=value.
  void set(const std::string& key, const std::string& value);
  void set_implied(const std::string& value);
  // Keeps the implied value and the listed keys only.
  void keep_only(const std::vector<std::string>& keys);
  bool has(const std::string& key) const { return get(key).has_value(); }

 private:
  struct Item {
    std::string key;  // empty: the implied element
    std::string value;
    bool bare = false;  // a flag written without '=' ("readonly")
  };
  std::vector<Item> items_;
};

}  // namespace kvmrr
