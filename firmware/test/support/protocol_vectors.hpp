// Reads docs/protocol-vectors.txt and docs/delta-vectors.txt, the byte-exact v2 messages and delta patches
// shared with the C# tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bo_test {

// Bytes of the vector `name`; fails the calling test (ADD_FAILURE) and returns {} if it is missing.
std::vector<uint8_t> Vector(const std::string &name);

}  // namespace bo_test
