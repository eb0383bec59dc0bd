// SPDX-License-Identifier: Apache-2.0
// The NumPy readers: arrays saved by numpy itself (np.save, np.savez, np.savez_compressed; big-endian,
// bool, Fortran order, 0-d, empty, fixed-width bytes) and by our own sinks read back byte for byte;
// malformed headers and archives are Statuses naming the file, the offset and the tensor.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "testing/bundle_builder.hpp"
#include "testing/paths.hpp"
#include "testing/status_matchers.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/codec/string_tensor.hpp"
#include "tfckpt/sinks/npy.hpp"
#include "tfckpt/sinks/write_bundle.hpp"
#include "tfckpt/sources/npy.hpp"

namespace npy_source_test {

namespace {
namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tfckpt_testing::typed_tensor;

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Skips the test (visibly) unless the system python3 can import numpy.
#define REQUIRE_NUMPY()                                                                                          \
  do {                                                                                                          \
    const std::string py = TFCKPT_SYSTEM_PYTHON;                                                                \
    if (py.empty() || !fs::exists(py)) GTEST_SKIP() << "system python3 not found; apt-get install python3-numpy"; \
    if (run(py + " -c 'import numpy'") != 0) GTEST_SKIP() << "numpy is missing; apt-get install python3-numpy";  \
  } while (false)

// The planned tensors' bytes, collected.
std::string bytes_of(const tfckpt::tensor& t) {
  std::string out;
  EXPECT_OK(t.source.stream([&](std::span<const std::byte> c) {
    out.append(reinterpret_cast<const char*>(c.data()), c.size());
    return absl::OkStatus();
  }));
  EXPECT_EQ(out.size(), t.size());
  return out;
}
template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
const tfckpt::tensor* find(const tfckpt::npy_arrays& a, const std::string& name) {
  for (const tfckpt::tensor& t : tfckpt::entries(a))
    if (t.name == name) return &t;
  return nullptr;
}

class NpySource : public ::testing::Test {
 protected:
  tfckpt_testing::scratch_dir dir_;
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void python(const std::string& script) {
    spit(dir_ / "write.py", script);
    ASSERT_EQ(run(std::string(TFCKPT_SYSTEM_PYTHON) + " " + path("write.py") + " " + dir_.path().string()), 0) << script;
  }
};

// The arrays every numpy-written test saves, and what each must read as.
constexpr const char* kArrays = R"PY(
import numpy as np, sys, os
d = sys.argv[1]
arrays = {
  "w": np.arange(6, dtype="<f4").reshape(2, 3),
  "be": np.array([1, -2, 3], dtype=">i4"),
  "bed": np.array([0.5, 2.0], dtype=">f8"),
  "flags": np.array([True, False, True]),
  "scalar": np.float64(2.5),
  "empty": np.zeros((0, 3), dtype=np.float32),
  "u8": np.array([0, 200], dtype=np.uint8),
  "c": np.array([1 + 2j], dtype=np.complex64),
  "names": np.array([b"ab", b"c", b""]),
  "col": np.asfortranarray(np.arange(4, dtype=np.float32)),
  "scope/x": np.array([7], dtype=np.int16),
}
)PY";

void expect_numpy_arrays(const tfckpt::npy_arrays& a) {
  const tfckpt::tensor* w = find(a, "w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, tfckpt::dtype::float32);
  EXPECT_THAT(w->shape, ElementsAre(2, 3));
  EXPECT_EQ(bytes_of(*w), raw(std::vector<float>{0, 1, 2, 3, 4, 5}));
  ASSERT_NE(find(a, "be"), nullptr);
  EXPECT_EQ(find(a, "be")->dtype, tfckpt::dtype::int32);
  EXPECT_EQ(bytes_of(*find(a, "be")), raw(std::vector<std::int32_t>{1, -2, 3}));  // swapped to host order
  EXPECT_EQ(bytes_of(*find(a, "bed")), raw(std::vector<double>{0.5, 2.0}));
  EXPECT_EQ(find(a, "flags")->dtype, tfckpt::dtype::boolean);
  EXPECT_EQ(bytes_of(*find(a, "flags")), std::string("\1\0\1", 3));
  EXPECT_TRUE(find(a, "scalar")->shape.empty());
  EXPECT_EQ(bytes_of(*find(a, "scalar")), raw(std::vector<double>{2.5}));
  EXPECT_THAT(find(a, "empty")->shape, ElementsAre(0, 3));
  EXPECT_EQ(find(a, "empty")->size(), 0u);
  EXPECT_EQ(bytes_of(*find(a, "u8")), std::string("\0\xc8", 2));
  EXPECT_EQ(find(a, "c")->dtype, tfckpt::dtype::complex64);
  EXPECT_EQ(bytes_of(*find(a, "c")), raw(std::vector<float>{1, 2}));
  EXPECT_EQ(find(a, "names")->dtype, tfckpt::dtype::string);
  const std::vector<std::string_view> names = {"ab", "c", ""};
  EXPECT_EQ(bytes_of(*find(a, "names")), tfckpt::codec::encode_string_tensor(names, tfckpt::host_byte_order));
  EXPECT_EQ(bytes_of(*find(a, "col")), raw(std::vector<float>{0, 1, 2, 3}));  // 1-D: Fortran order is C order
  ASSERT_NE(find(a, "scope/x"), nullptr);
}

TEST_F(NpySource, ReadsNpzWrittenByNumpySavez) {
  REQUIRE_NUMPY();
  python(std::string(kArrays) + "np.savez(os.path.join(d, 'a.npz'), **arrays)\n");
  auto a = tfckpt::open_npz(path("a.npz"));
  ASSERT_TRUE(a.ok()) << a.status();
  expect_numpy_arrays(*a);
}

TEST_F(NpySource, StoredArraysReadAnyRangeInHostOrder) {
  REQUIRE_NUMPY();
  python(std::string(kArrays) + "np.savez(os.path.join(d, 'a.npz'), **arrays)\n");
  auto a = tfckpt::open_npz(path("a.npz"));
  ASSERT_TRUE(a.ok()) << a.status();
  for (const char* name : {"be", "bed", "w"}) {
    const tfckpt::tensor& t = *find(*a, name);
    ASSERT_TRUE(t.source.random_access()) << name;
    const std::string whole = bytes_of(t);
    // Ranges that start and end inside elements: big-endian ones are swapped all the same.
    std::string part(whole.size() - 3, '\0');
    ASSERT_OK(t.source.read(1, std::as_writable_bytes(std::span(part.data(), part.size()))));
    EXPECT_EQ(part, whole.substr(1, whole.size() - 3)) << name;
  }
}

TEST_F(NpySource, ReadsNpzWrittenByNumpySavezCompressed) {
  REQUIRE_NUMPY();
  python(std::string(kArrays) + "np.savez_compressed(os.path.join(d, 'c.npz'), **arrays)\n");
  auto a = tfckpt::open_npz(path("c.npz"));
  ASSERT_TRUE(a.ok()) << a.status();
  expect_numpy_arrays(*a);
  // Streamed twice: each pass inflates again. Deflated members have no random access.
  EXPECT_EQ(bytes_of(*find(*a, "w")), bytes_of(*find(*a, "w")));
  EXPECT_FALSE(find(*a, "w")->source.random_access());
}

TEST_F(NpySource, ReadsADirectoryOfNpySavedFiles) {
  REQUIRE_NUMPY();
  python(std::string(kArrays) +
         "for k, v in arrays.items():\n"
         "    p = os.path.join(d, 'dir', k + '.npy'); os.makedirs(os.path.dirname(p), exist_ok=True); np.save(p, v)\n");
  auto a = tfckpt::open_npy_dir(path("dir"));
  ASSERT_TRUE(a.ok()) << a.status();
  expect_numpy_arrays(*a);
  EXPECT_EQ(a->tensors().size(), 11u);
}

TEST_F(NpySource, ReadsLargeNpzMembersThatNumpyWritesAsZip64) {
  REQUIRE_NUMPY();
  // numpy's zipfile writes a ZIP64 local header for members it cannot size in advance; force it.
  python(
      "import numpy as np, zipfile, sys, os\n"
      "a = np.arange(1000, dtype=np.int64)\n"
      "with zipfile.ZipFile(os.path.join(sys.argv[1], 'z.npz'), 'w') as z:\n"
      "    with z.open('big.npy', 'w', force_zip64=True) as f:\n"
      "        np.lib.format.write_array(f, a)\n");
  auto a = tfckpt::open_npz(path("z.npz"));
  ASSERT_TRUE(a.ok()) << a.status();
  std::vector<std::int64_t> want(1000);
  for (int i = 0; i < 1000; ++i) want[i] = i;
  EXPECT_EQ(bytes_of(*find(*a, "big")), raw(want));
}

TEST_F(NpySource, ADirectoryWithoutNpyFilesIsAnError) {
  fs::create_directories(dir_ / "nothing" / "here");
  spit(dir_ / "nothing" / "notes.txt", "x");
  auto a = tfckpt::open_npy_dir(path("nothing"));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(a.status().message()), HasSubstr(path("nothing")));
}

TEST_F(NpySource, FortranOrderArraysReadAsTheSameArraysInCOrder) {
  REQUIRE_NUMPY();
  // Each array saved twice: as numpy.save writes a Fortran-ordered array, and in C order.
  python(R"PY(
import numpy as np, sys, os
d = sys.argv[1]
arrays = {
  "m": np.arange(6 * 7, dtype="<f4").reshape(6, 7),
  "cube": np.arange(2 * 3 * 4, dtype=">i4").reshape(2, 3, 4) * 1000 - 7,
  "wide": np.arange(5 * 300, dtype="<f8").reshape(5, 300),
  "names": np.array([[b"a", b"bb", b"ccc"], [b"", b"ee", b"f"]]),
}
for k, a in arrays.items():
    f = np.asfortranarray(a)
    assert f.flags.f_contiguous and not f.flags.c_contiguous
    np.save(os.path.join(d, k + ".f.npy"), f)
    np.save(os.path.join(d, k + ".c.npy"), np.ascontiguousarray(a))
np.savez(os.path.join(d, "f.npz"), **{k: np.asfortranarray(a) for k, a in arrays.items()})
np.savez_compressed(os.path.join(d, "fc.npz"), m=np.asfortranarray(arrays["m"]), names=np.asfortranarray(arrays["names"]))
)PY");
  for (const std::string name : {"m", "cube", "wide", "names"}) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(const tfckpt::npy_arrays f, tfckpt::open_npy(path(name + ".f.npy")));
    ASSERT_OK_AND_ASSIGN(const tfckpt::npy_arrays c, tfckpt::open_npy(path(name + ".c.npy")));
    const tfckpt::tensor& ft = f.tensors()[0];
    const tfckpt::tensor& ct = c.tensors()[0];
    EXPECT_EQ(ft.shape, ct.shape);
    EXPECT_EQ(ft.dtype, ct.dtype);
    EXPECT_TRUE(bytes_of(ft) == bytes_of(ct));
  }
  ASSERT_OK_AND_ASSIGN(const tfckpt::npy_arrays npz, tfckpt::open_npz(path("f.npz")));
  for (const std::string name : {"m", "cube", "wide", "names"}) {
    ASSERT_OK_AND_ASSIGN(const tfckpt::npy_arrays c, tfckpt::open_npy(path(name + ".c.npy")));
    ASSERT_NE(find(npz, name), nullptr);
    EXPECT_TRUE(bytes_of(*find(npz, name)) == bytes_of(c.tensors()[0])) << name;
  }
  // Compressed: strings are decoded at open, so they reorder; numbers would need the whole member.
  auto fc = tfckpt::open_npz(path("fc.npz"));
  EXPECT_EQ(fc.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(fc.status().message()), HasSubstr("Fortran order"));
  EXPECT_THAT(std::string(fc.status().message()), HasSubstr("'m'"));
}

TEST_F(NpySource, ObjectAndUnicodeArraysAreRefused) {
  REQUIRE_NUMPY();
  python(
      "import numpy as np, sys, os\n"
      "np.save(os.path.join(sys.argv[1], 'o.npy'), np.array([1, 'x'], dtype=object), allow_pickle=True)\n"
      "np.save(os.path.join(sys.argv[1], 'u.npy'), np.array(['x']))\n");
  auto o = tfckpt::open_npy(path("o.npy"));
  EXPECT_EQ(o.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("object array"));
  EXPECT_THAT(std::string(o.status().message()), HasSubstr(path("o.npy")));
  auto u = tfckpt::open_npy(path("u.npy"));
  EXPECT_EQ(u.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(u.status().message()), HasSubstr("unicode"));
}

TEST_F(NpySource, OurSinksRoundTripEveryDtypeTheySupport) {
  std::vector<tfckpt_testing::tensor_spec> specs = {
      typed_tensor<std::uint8_t>("bool", tfckpt::dtype::boolean, {3}, {1, 0, 1}),
      typed_tensor<std::uint8_t>("u8", tfckpt::dtype::uint8, {2}, {0, 255}),
      typed_tensor<std::int8_t>("i8", tfckpt::dtype::int8, {2}, {-128, 127}),
      typed_tensor<std::int16_t>("scope/i16", tfckpt::dtype::int16, {2}, {-30000, 7}),
      typed_tensor<std::uint16_t>("u16", tfckpt::dtype::uint16, {1}, {65535}),
      typed_tensor<std::uint16_t>("f16", tfckpt::dtype::float16, {2}, {0x3c00, 0xc000}),
      typed_tensor<std::int32_t>("i32", tfckpt::dtype::int32, {2, 1}, {-5, 1 << 30}),
      typed_tensor<std::uint32_t>("u32", tfckpt::dtype::uint32, {1}, {4000000000u}),
      typed_tensor<float>("a/b/f32", tfckpt::dtype::float32, {2, 3}, {1, 2, 3, 4, 5, 6}),
      typed_tensor<double>("f64", tfckpt::dtype::float64, {}, {3.141592653589793}),
      typed_tensor<std::int64_t>("i64", tfckpt::dtype::int64, {2}, {INT64_MIN, INT64_MAX}),
      typed_tensor<std::uint64_t>("u64", tfckpt::dtype::uint64, {1}, {UINT64_MAX}),
      typed_tensor<float>("c64", tfckpt::dtype::complex64, {1}, {1.5f, -2.5f}),
      typed_tensor<double>("c128", tfckpt::dtype::complex128, {1}, {1.5, -2.5}),
      typed_tensor<float>("zero/size", tfckpt::dtype::float32, {0, 3}, {}),
      tfckpt_testing::string_tensor("s", {3}, {"alpha", "", "b"}),
  };
  tfckpt_testing::write_bundle(dir_ / "orig" / "model", specs);
  auto orig = tfckpt::open(path("orig/model"));
  ASSERT_TRUE(orig.ok()) << orig.status();
  tfckpt::npy_options o{.strings = tfckpt::npy_strings::fixed_width_bytes, .sync = false};
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*orig), path("ours.npz"), o));
  ASSERT_OK(tfckpt::write_npy_dir(tfckpt::entries(*orig), path("ours"), o));
  o.force_zip64 = true;
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*orig), path("ours64.npz"), o));
  for (const std::string which : {"npz", "dir", "npz64"}) {
    auto a = which == "npz" ? tfckpt::open_npz(path("ours.npz"))
             : which == "dir" ? tfckpt::open_npy_dir(path("ours"))
                              : tfckpt::open_npz(path("ours64.npz"));
    ASSERT_TRUE(a.ok()) << which << ": " << a.status();
    ASSERT_OK(tfckpt::write_bundle(tfckpt::entries(*a), path(which + "/model")));
    auto back = tfckpt::open(path(which + "/model"));
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(back->entries().size(), orig->entries().size()) << which;
    for (const tfckpt::entry& e : orig->entries()) {
      const tfckpt::entry* f = back->find(e.name());
      ASSERT_NE(f, nullptr) << which << " " << e.name();
      EXPECT_EQ(f->dtype(), e.dtype()) << which << " " << e.name();
      EXPECT_TRUE(std::ranges::equal(f->shape(), e.shape())) << which << " " << e.name();
      EXPECT_TRUE(std::ranges::equal(f->bytes().value(), e.bytes().value())) << which << " " << e.name();
    }
  }
}

TEST_F(NpySource, BfloatSixteenComesBackAsItsWideningOrItsBits) {
  tfckpt_testing::write_bundle(dir_ / "orig" / "model",
                               {typed_tensor<std::uint16_t>("bf", tfckpt::dtype::bfloat16, {2}, {0x3f80, 0xc049})});
  auto orig = tfckpt::open(path("orig/model"));
  ASSERT_TRUE(orig.ok()) << orig.status();
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*orig), path("wide.npz"), {.sync = false}));
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*orig), path("raw.npz"), {.bfloat16 = tfckpt::npy_bfloat16::raw_uint16, .sync = false}));
  auto wide = tfckpt::open_npz(path("wide.npz"));
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ(find(*wide, "bf")->dtype, tfckpt::dtype::float32);
  EXPECT_EQ(bytes_of(*find(*wide, "bf")), raw(std::vector<std::uint32_t>{0x3f800000u, 0xc0490000u}));
  auto bits = tfckpt::open_npz(path("raw.npz"));
  ASSERT_TRUE(bits.ok()) << bits.status();
  EXPECT_EQ(find(*bits, "bf")->dtype, tfckpt::dtype::uint16);
  EXPECT_EQ(bytes_of(*find(*bits, "bf")), raw(std::vector<std::uint16_t>{0x3f80, 0xc049}));
}

// A valid one-array .npy file of float32 [2].
std::string good_npy() {
  return tfckpt::npy_header("<f4", std::vector<std::int64_t>{2}) + std::string(8, '\0');
}

TEST_F(NpySource, MalformedNpyFilesAreClearErrors) {
  struct hostile {
    const char* what;
    std::string bytes;
    std::string word;
  };
  const std::string good = good_npy();
  std::string bad_version = good;
  bad_version[6] = 9;
  std::string long_header = good;
  long_header[8] = '\xff';
  long_header[9] = '\xff';
  auto with_dict = [](const std::string& dict) {
    std::string h("\x93NUMPY\x01\x00", 8);
    h.push_back(static_cast<char>(dict.size() & 0xFF));
    h.push_back(static_cast<char>(dict.size() >> 8));
    return h + dict;
  };
  const std::vector<hostile> cases = {
      {"empty", "", "cannot hold"},
      {"no magic", std::string(64, 'x'), "magic"},
      {"bad version", bad_version, "version 9.0"},
      {"header past the end", long_header, "past the"},
      {"truncated data", good.substr(0, good.size() - 3), "truncated"},
      {"trailing bytes", good + "xyz", "trailing bytes"},
      {"not a dict", with_dict("[1, 2]\n"), "expected '{'"},
      {"missing key", with_dict("{'descr': '<f4', 'shape': (2,), }\n"), "lacks"},
      {"unknown key", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n"), "unexpected key"},
      {"bad shape", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }\n"), "non-negative"},
      {"huge shape", with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n"), "overflows"},
      {"shape product overflows", with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n"), "overflows"},
      {"unterminated", with_dict("{'descr': '<f4\n"), "unterminated"},
      {"unknown dtype", with_dict("{'descr': '<f16', 'fortran_order': False, 'shape': (), }\n"), "no TensorFlow dtype"},
      {"structured", with_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }\n"), "structured"},
      {"bad bool", with_dict("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (), }\n"), "True or False"},
  };
  for (const hostile& c : cases) {
    spit(path("bad.npy"), c.bytes);
    auto a = tfckpt::open_npy(path("bad.npy"));
    ASSERT_FALSE(a.ok()) << c.what;
    const std::string msg(a.status().message());
    EXPECT_THAT(msg, HasSubstr(path("bad.npy"))) << c.what;
    EXPECT_THAT(msg, HasSubstr(c.word)) << c.what;
    EXPECT_THAT(msg, HasSubstr("for key 'bad'")) << c.what;
    EXPECT_THAT(msg, HasSubstr("@")) << c.what;
  }
}

TEST_F(NpySource, MalformedArchivesAreClearErrors) {
  auto orig = tfckpt_testing::float_tensor("w", {2}, {1, 2});
  tfckpt_testing::write_bundle(dir_ / "orig" / "model", {orig});
  auto ckpt = tfckpt::open(path("orig/model"));
  ASSERT_TRUE(ckpt.ok());
  ASSERT_OK(tfckpt::write_npz(tfckpt::entries(*ckpt), path("good.npz"), {.sync = false}));
  const std::string good = slurp(path("good.npz"));
  const std::size_t cd = good.find("PK\x01\x02");
  const std::size_t eocd = good.find("PK\x05\x06");
  ASSERT_NE(cd, std::string::npos);
  ASSERT_NE(eocd, std::string::npos);

  struct hostile {
    const char* what;
    std::string bytes;
    std::string word;
  };
  std::string past_end = good;  // the member's compressed size reaches past the directory
  past_end[cd + 20] = '\xff';
  past_end[cd + 21] = '\xff';
  std::string bad_offset = good;  // the directory's offset past its end record
  bad_offset[eocd + 19] = '\x7f';
  std::string many = good;  // more members than the directory can hold
  many[eocd + 10] = '\x50';
  std::string no_local = good;  // the local header signature broken
  no_local[0] = 'X';
  std::string method = good;
  method[cd + 10] = 12;  // bzip2
  const std::vector<hostile> cases = {
      {"not a zip", std::string(100, 'z'), "no end of central directory"},
      {"truncated", good.substr(0, good.size() / 2), "no end of central directory"},
      {"member past the end", past_end, "run past"},
      {"directory offset past its end", bad_offset, "runs past its end record"},
      {"too many members", many, "cannot fit"},
      {"no local header", no_local, "no local header"},
      {"unknown method", method, "compression method 12"},
  };
  for (const hostile& c : cases) {
    spit(path("bad.npz"), c.bytes);
    auto a = tfckpt::open_npz(path("bad.npz"));
    ASSERT_FALSE(a.ok()) << c.what;
    const std::string msg(a.status().message());
    EXPECT_THAT(msg, HasSubstr(path("bad.npz"))) << c.what;
    EXPECT_THAT(msg, HasSubstr(c.word)) << c.what << ": " << msg;
    EXPECT_THAT(msg, HasSubstr("@")) << c.what;
  }
}

TEST_F(NpySource, CorruptStoredMembersFailTheirCrcWhenStreamed) {
  REQUIRE_NUMPY();
  python("import numpy as np, sys, os\nnp.savez(os.path.join(sys.argv[1], 's.npz'), w=np.arange(5000, dtype='>f4'), "
         "v=np.arange(10, dtype=np.int8))\n");
  const std::string good = slurp(path("s.npz"));
  {  // intact: both members stream, the big-endian one swapped, and pass their CRC
    ASSERT_OK_AND_ASSIGN(const tfckpt::npy_arrays a, tfckpt::open_npz(path("s.npz")));
    std::vector<float> want(5000);
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = static_cast<float>(i);
    EXPECT_TRUE(bytes_of(*find(a, "w")) == raw(want));
  }
  // One flipped bit in w's data (its member comes first; the flip is well past its header).
  std::string bad = good;
  const std::size_t at = good.find("w.npy") + 5 + 30 + 128 + 4000;
  bad[at] = static_cast<char>(bad[at] ^ 0x01);
  spit(path("s.npz"), bad);
  ASSERT_OK_AND_ASSIGN(const tfckpt::npy_arrays a, tfckpt::open_npz(path("s.npz")));
  const absl::Status s = find(a, "w")->source.stream([](std::span<const std::byte>) { return absl::OkStatus(); });
  EXPECT_THAT(s, tfckpt_testing::StatusIs(absl::StatusCode::kDataLoss, HasSubstr("CRC-32 mismatch")));
  EXPECT_THAT(std::string(s.message()), HasSubstr(path("s.npz") + "[w.npy]"));
  EXPECT_OK(find(a, "v")->source.stream([](std::span<const std::byte>) { return absl::OkStatus(); }));
}

TEST_F(NpySource, CorruptDeflatedMembersFailWhenStreamed) {
  REQUIRE_NUMPY();
  python("import numpy as np, sys, os\nnp.savez_compressed(os.path.join(sys.argv[1], 'c.npz'), w=np.arange(5000, dtype=np.float32))\n");
  std::string bytes = slurp(path("c.npz"));
  // Flip a byte in the middle of the deflated data: the header still inflates, the data does not
  // (or its CRC-32 disagrees).
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x5a);
  spit(path("c.npz"), bytes);
  auto a = tfckpt::open_npz(path("c.npz"));
  ASSERT_TRUE(a.ok()) << a.status();
  const absl::Status s = find(*a, "w")->source.stream([](std::span<const std::byte>) { return absl::OkStatus(); });
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr(path("c.npz") + "[w.npy]"));
}

}  // namespace

}  // namespace npy_source_test
