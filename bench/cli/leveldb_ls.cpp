// SPDX-License-Identifier: Apache-2.0
// `leveldb_ls PREFIX`: the yardstick for `tfckpt ls` in bench/cli/run.sh. What a lister built on
// LevelDB does with a checkpoint's index: leveldb::Table::Open on `PREFIX.index`, iterate with
// verify_checksums, decode dtype and shape from each BundleEntryProto value by hand (no protobuf
// library), and print "name dtype shape" per tensor. It skips the header (key "") and prints names
// as stored; it checks nothing else (no shard bounds, no entry consistency), so it does less than
// `tfckpt ls`.
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace {

bool read_varint(std::string_view& s, std::uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !s.empty(); shift += 7) {
    const auto b = static_cast<std::uint8_t>(s.front());
    s.remove_prefix(1);
    *v |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80u) == 0) return true;
  }
  return false;
}

// Skips a field of wire type `wire` whose tag was just read.
bool skip_field(std::string_view& s, std::uint64_t wire) {
  std::uint64_t n = 0;
  switch (wire) {
    case 0: return read_varint(s, &n);
    case 1: n = 8; break;
    case 2:
      if (!read_varint(s, &n)) return false;
      break;
    case 5: n = 4; break;
    default: return false;
  }
  if (n > s.size()) return false;
  s.remove_prefix(n);
  return true;
}

const char* dtype_name(std::uint64_t t) {
  switch (t) {
    case 1: return "float32";
    case 2: return "float64";
    case 3: return "int32";
    case 4: return "uint8";
    case 5: return "int16";
    case 6: return "int8";
    case 7: return "string";
    case 9: return "int64";
    case 10: return "bool";
    case 14: return "bfloat16";
    case 19: return "float16";
    default: return "other";
  }
}

// BundleEntryProto: dtype = 1 (varint), shape = 2 (TensorShapeProto: dim = 2 { size = 1 }).
bool describe(std::string_view value, std::string* out) {
  std::uint64_t dtype = 0;
  std::string shape = "[";
  while (!value.empty()) {
    std::uint64_t tag = 0;
    if (!read_varint(value, &tag)) return false;
    if (tag == (1 << 3 | 0)) {
      if (!read_varint(value, &dtype)) return false;
    } else if (tag == (2 << 3 | 2)) {
      std::uint64_t len = 0;
      if (!read_varint(value, &len) || len > value.size()) return false;
      std::string_view shape_msg = value.substr(0, len);
      value.remove_prefix(len);
      while (!shape_msg.empty()) {
        std::uint64_t t = 0;
        if (!read_varint(shape_msg, &t)) return false;
        if (t != (2 << 3 | 2)) {
          if (!skip_field(shape_msg, t & 7)) return false;
          continue;
        }
        std::uint64_t dim_len = 0;
        if (!read_varint(shape_msg, &dim_len) || dim_len > shape_msg.size()) return false;
        std::string_view dim = shape_msg.substr(0, dim_len);
        shape_msg.remove_prefix(dim_len);
        std::uint64_t size = 0;
        while (!dim.empty()) {
          std::uint64_t dt = 0;
          if (!read_varint(dim, &dt)) return false;
          if (dt == (1 << 3 | 0)) {
            if (!read_varint(dim, &size)) return false;
          } else if (!skip_field(dim, dt & 7)) {
            return false;
          }
        }
        if (shape.size() > 1) shape += ',';
        shape += std::to_string(static_cast<std::int64_t>(size));
      }
    } else if (!skip_field(value, tag & 7)) {
      return false;
    }
  }
  shape += ']';
  *out += ' ';
  *out += dtype_name(dtype);
  *out += ' ';
  *out += shape;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: leveldb_ls PREFIX\n");
    return 2;
  }
  const std::string path = std::string(argv[1]) + ".index";
  leveldb::Env* env = leveldb::Env::Default();
  std::uint64_t size = 0;
  leveldb::RandomAccessFile* raw_file = nullptr;
  leveldb::Status s = env->GetFileSize(path, &size);
  if (s.ok()) s = env->NewRandomAccessFile(path, &raw_file);
  std::unique_ptr<leveldb::RandomAccessFile> file(raw_file);
  leveldb::Table* raw_table = nullptr;
  leveldb::Options options;
  options.paranoid_checks = true;
  if (s.ok()) s = leveldb::Table::Open(options, file.get(), size, &raw_table);
  std::unique_ptr<leveldb::Table> table(raw_table);
  if (!s.ok()) {
    std::fprintf(stderr, "leveldb_ls: %s: %s\n", path.c_str(), s.ToString().c_str());
    return 1;
  }
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  read.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(read));
  std::string out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const leveldb::Slice key = it->key();
    if (key.empty()) continue;  // the header
    out.append(key.data(), key.size());
    const leveldb::Slice value = it->value();
    if (!describe({value.data(), value.size()}, &out)) {
      std::fprintf(stderr, "leveldb_ls: %s: malformed entry for key '%s'\n", path.c_str(), key.ToString().c_str());
      return 1;
    }
    out += '\n';
    if (out.size() >= (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  if (!it->status().ok()) {
    std::fprintf(stderr, "leveldb_ls: %s: %s\n", path.c_str(), it->status().ToString().c_str());
    return 1;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
