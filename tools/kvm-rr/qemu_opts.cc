#include "qemu_opts.h"

#include <algorithm>

namespace kvmrr {

QemuOpts QemuOpts::parse(const std::string& text) {
  QemuOpts o;
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] == ',' && i + 1 < text.size() && text[i + 1] == ',') {
      parts.back() += ',';
      i++;
    } else if (text[i] == ',') {
      parts.emplace_back();
    } else {
      parts.back() += text[i];
    }
  }
  for (size_t i = 0; i < parts.size(); i++) {
    size_t eq = parts[i].find('=');
    if (eq == std::string::npos && i == 0) {
      o.items_.push_back({"", parts[i]});
    } else if (eq == std::string::npos) {
      o.items_.push_back({parts[i], "", true});
    } else {
      o.items_.push_back({parts[i].substr(0, eq), parts[i].substr(eq + 1)});
    }
  }
  return o;
}

std::string QemuOpts::str() const {
  auto escape = [](const std::string& v) {
    std::string out;
    for (char c : v) out += c == ',' ? std::string(",,") : std::string(1, c);
    return out;
  };
  std::string s;
  for (const Item& i : items_) {
    if (!s.empty()) s += ',';
    s += i.key.empty() ? escape(i.value) : i.bare ? i.key : i.key + "=" + escape(i.value);
  }
  return s;
}

std::optional<std::string> QemuOpts::implied() const {
  if (!items_.empty() && items_[0].key.empty()) return items_[0].value;
  return std::nullopt;
}

std::optional<std::string> QemuOpts::get(const std::string& key) const {
  for (const Item& i : items_) {
    if (i.key == key) return i.value;
  }
  return std::nullopt;
}

void QemuOpts::set(const std::string& key, const std::string& value) {
  for (Item& i : items_) {
    if (i.key == key) {
      i.value = value;
      i.bare = false;
      return;
    }
  }
  items_.push_back({key, value});
}

void QemuOpts::set_implied(const std::string& value) {
  if (implied()) {
    items_[0].value = value;
  } else {
    items_.insert(items_.begin(), {"", value});
  }
}

void QemuOpts::keep_only(const std::vector<std::string>& keys) {
  std::erase_if(items_, [&](const Item& i) {
    return !i.key.empty() && std::find(keys.begin(), keys.end(), i.key) == keys.end();
  });
}

}  // namespace kvmrr
