#pragma once
// What an x86-64 instruction that ends a translated block does to control flow.
#include <cstddef>
#include <cstdint>

namespace kvmrr::branches {

struct BranchInsn {
  enum class Type { None, Call, Return, Jump, CondJump, Iret, Sysret } type = Type::None;
  uint64_t target = 0;  // a direct CALL/JMP/Jcc's destination (0: indirect or none)
};

// bytes: the instruction (size n) at pc.
BranchInsn classify_branch(const uint8_t* bytes, size_t n, uint64_t pc);

}  // namespace kvmrr::branches
