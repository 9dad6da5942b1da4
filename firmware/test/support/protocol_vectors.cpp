#include "protocol_vectors.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <map>

namespace bo_test {

namespace {

void Load(const char *path, std::map<std::string, std::vector<uint8_t>> &vectors)
{
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) {
            continue;
        }
        std::string name = line.substr(0, eq);
        name.erase(name.find_last_not_of(' ') + 1);
        std::string hex;
        for (char c : line.substr(eq + 1)) {
            if (!std::isspace(static_cast<unsigned char>(c))) {
                hex += c;
            }
        }
        std::vector<uint8_t> bytes;
        for (size_t i = 0; i + 1 < hex.size(); i += 2) {
            bytes.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
        }
        vectors[name] = bytes;
    }
}

std::map<std::string, std::vector<uint8_t>> LoadAll()
{
    std::map<std::string, std::vector<uint8_t>> vectors;
    Load(BLEOTA_PROTOCOL_VECTORS, vectors);
    Load(BLEOTA_DELTA_VECTORS, vectors);
    return vectors;
}

}  // namespace

std::vector<uint8_t> Vector(const std::string &name)
{
    static const auto vectors = LoadAll();
    auto it = vectors.find(name);
    if (it == vectors.end()) {
        ADD_FAILURE() << "no vector '" << name << "' in " << BLEOTA_PROTOCOL_VECTORS << " or " << BLEOTA_DELTA_VECTORS;
        return {};
    }
    return it->second;
}

}  // namespace bo_test
