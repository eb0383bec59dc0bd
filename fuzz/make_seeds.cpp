// SPDX-License-Identifier: Apache-2.0
// Fills <out>/<target>/ with seed inputs for every fuzz target, from TensorFlow-written fixtures
// (read where they are, never copied into the repository) and from files our own writers produce:
// bundles of every fixed-size dtype, string tensors, partitioned variables, snappy-compressed and
// padded indexes, V1 files of every V1 value field, graphs with variables to freeze, state files.
//   make_fuzz_seeds <fixtures dir> <out dir>
// A missing fixtures directory is reported and skipped: the generated seeds are still written.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/text_format.h>
#include <zlib.h>

#include "tfckpt/checkpoint/bundle_writer.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/state_file.hpp"
#include "tfckpt/codec/crc32c.hpp"
#include "tfckpt/codec/slice_key.hpp"
#include "tfckpt/codec/table.hpp"
#include "tfckpt/codec/table_builder.hpp"
#include "tfckpt/codec/zip.hpp"
#include "tfckpt/sinks/npy.hpp"
#include "tfckpt/sinks/safetensors.hpp"
#include "tfckpt/proto/graph.pb.h"
#include "tfckpt/proto/meta_graph.pb.h"
#include "tfckpt/proto/saved_model.pb.h"
#include "tfckpt/proto/saved_tensor_slice.pb.h"

namespace {

namespace fs = std::filesystem;
namespace codec = tfckpt::codec;

// Seeds larger than this are cut: libFuzzer's -max_len would cut them anyway.
constexpr std::size_t kMaxSeed = 128 << 10;

fs::path g_out;
std::size_t g_written = 0;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void seed(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::string file = name;
  std::replace_if(file.begin(), file.end(), [](char c) { return c == '/' || c == '\\' || c == '\0'; }, '_');
  std::ofstream out(dir / file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(std::min(bytes.size(), kMaxSeed)));
  ++g_written;
}

std::string le32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

void check(const absl::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

// The records of a table, each as its own seed for bundle_entry (at most `max` per table).
void seed_records(const std::string& name, std::string_view table, std::size_t max = 64) {
  std::size_t n = 0;
  (void)codec::for_each_table_entry(
      name, std::span<const std::byte>(reinterpret_cast<const std::byte*>(table.data()), table.size()),
      [&](std::string_view, std::span<const std::byte> value, std::uint64_t) {
        if (n < max) seed("bundle_entry", name + "." + std::to_string(n), std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
        ++n;
        return absl::OkStatus();
      });
}

// A V2 checkpoint at `prefix`, seeded as index, records, whole checkpoint and string payloads.
void seed_bundle(const std::string& name, const std::string& prefix) {
  auto ckpt = tfckpt::open(prefix);
  if (!ckpt.ok() || ckpt->num_shards() != 1) {
    const std::string index = read_file(prefix + ".index");
    seed("sstable", name, index);
    seed_records(name, index);
    seed("checkpoint", name, le32(static_cast<std::uint32_t>(index.size())) + index);  // shards absent
    return;
  }
  const std::string index = read_file(prefix + ".index");
  const std::string data = read_file(ckpt->data_path(0));
  seed("sstable", name, index);
  seed_records(name, index);
  seed("checkpoint", name, le32(static_cast<std::uint32_t>(index.size())) + index + data.substr(0, kMaxSeed / 2));
  for (const tfckpt::entry& e : ckpt->entries()) {
    if (e.dtype() != tfckpt::dtype::string) continue;
    const auto bytes = e.bytes();
    if (!bytes.ok()) continue;
    seed("string_tensor", name + "." + tfckpt::printable_key(e.name()),
         le32(static_cast<std::uint32_t>(e.num_elements())) +
             std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
  }
}

template <class T>
tfckpt::byte_source bytes_of(const std::vector<T>& v) {
  return tfckpt::byte_source::from_bytes(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
}

// Bundles written with bundle_writer: every fixed-size dtype, strings, partitioned tensors.
void generated_bundles(const fs::path& work) {
  struct variant {
    std::string name;
    tfckpt::bundle_writer_options options;
  };
  std::vector<variant> variants(4);
  variants[0].name = "gen_plain";
  variants[1].name = "gen_snappy_index";
  variants[1].options.index_options.snappy = true;
  variants[1].options.index_options.restart_interval = 1;
  variants[2].name = "gen_aligned";
  variants[2].options.data_alignment = 64;
  variants[3].name = "gen_small_blocks";
  variants[3].options.index_options.block_size = 64;
  for (variant& v : variants) {
    v.options.sync = false;
    v.options.overwrite = true;
    const std::string prefix = (work / v.name).string();
    auto w = tfckpt::bundle_writer::create(prefix, v.options);
    check(w.status());
    std::vector<tfckpt::dtype> types;
    for (std::int32_t t = 1; t <= tfckpt::kMaxDtype; ++t) {
      const auto d = static_cast<tfckpt::dtype>(t);
      if (tfckpt::is_known_dtype(t) && tfckpt::is_fixed_size(d)) types.push_back(d);
    }
    for (tfckpt::dtype d : types) {
      const std::size_t elem = tfckpt::element_size(d);
      std::string bytes(3 * elem, '\0');
      for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(d == tfckpt::dtype::boolean ? i % 2 : i * 7 + 1);
      const std::vector<std::int64_t> shape{3};
      check(w->add(std::string("t/") + std::string(tfckpt::dtype_name(d)), d, shape, tfckpt::byte_source::from_bytes(bytes)));
    }
    const std::vector<std::int64_t> s0{}, s2{2}, s00{0, 4}, s42{4, 2}, s6{6};
    check(w->add("scalar", tfckpt::dtype::float32, s0, bytes_of(std::vector<float>{2.5f})));
    check(w->add("empty", tfckpt::dtype::float32, s00, bytes_of(std::vector<float>{})));
    check(w->add_strings("strings", s2, {"hello", std::string_view("\0\xff", 2)}));
    check(w->add_strings("strings_empty", s0, {""}));
    const std::vector<codec::slice_extent> top{{0, 2}, {}}, bottom{{2, 2}, {}};
    check(w->add_slice("part", s42, top, tfckpt::dtype::float32, bytes_of(std::vector<float>{1, 2, 3, 4})));
    check(w->add_slice("part", s42, bottom, tfckpt::dtype::float32, bytes_of(std::vector<float>{5, 6, 7, 8})));
    const std::vector<codec::slice_extent> a{{0, 1}}, b{{1, 3}}, c{{4, 2}};
    check(w->add_slice("part1d", s6, a, tfckpt::dtype::int64, bytes_of(std::vector<std::int64_t>{1})));
    check(w->add_slice("part1d", s6, b, tfckpt::dtype::int64, bytes_of(std::vector<std::int64_t>{2, 3, 4})));
    check(w->add_slice("part1d", s6, c, tfckpt::dtype::int64, bytes_of(std::vector<std::int64_t>{5, 6})));
    check(w->finish());
    seed_bundle(v.name, prefix);
  }
  // An empty bundle: just the header.
  auto w = tfckpt::bundle_writer::create((work / "gen_empty").string(), {.sync = false, .overwrite = true});
  check(w.status());
  check(w->finish());
  seed_bundle("gen_empty", (work / "gen_empty").string());
  // String payloads with a hostile element count in front.
  const std::string enc = codec::encode_string_tensor(std::vector<std::string_view>{"a", "bb", ""});
  seed("string_tensor", "gen_three", le32(3) + enc);
  seed("string_tensor", "gen_hostile_count", le32(0xffffffffu) + enc);
  seed("string_tensor", "gen_none", le32(0) + codec::encode_string_tensor({}));
  seed("string_tensor", "gen_three_big_endian",
       le32(3) + codec::encode_string_tensor(std::vector<std::string_view>{"a", "bb", ""}, tfckpt::byte_order::big));
}

// V1 files: one tensor per V1 value field, and a partitioned tensor of two slices.
void generated_v1(const fs::path& work) {
  const auto write_v1 = [&](const std::string& name, const std::vector<tensorflow::SavedSliceMeta>& metas,
                            const std::vector<tensorflow::SavedSlice>& slices) {
    tensorflow::SavedTensorSlices toc;
    for (const auto& m : metas) *toc.mutable_meta()->add_tensor() = m;
    std::map<std::string, std::string> records;
    records[""] = toc.SerializeAsString();
    for (const auto& s : slices) {
      std::vector<codec::slice_extent> ext;
      for (const auto& e : s.slice().extent()) {
        codec::slice_extent x;
        x.start = e.start();
        if (e.has_length_case() == tensorflow::TensorSliceProto::Extent::kLength) x.length = e.length();
        ext.push_back(x);
      }
      if (ext.empty())
        for (const auto& m : metas)
          if (m.name() == s.name()) ext.resize(static_cast<std::size_t>(m.shape().dim_size()));
      tensorflow::SavedTensorSlices rec;
      *rec.mutable_data() = s;
      records[codec::encode_tensor_slice_key(s.name(), ext)] = rec.SerializeAsString();
    }
    std::string file;
    codec::table_builder table({}, [&](std::string_view bytes) {
      file.append(bytes);
      return absl::OkStatus();
    });
    for (const auto& [k, v] : records) check(table.add(k, v));
    check(table.finish());
    seed("v1", name, file);
    seed("sstable", name, file);
  };
  const auto meta = [](const std::string& name, tensorflow::DataType type, std::vector<std::int64_t> shape) {
    tensorflow::SavedSliceMeta m;
    m.set_name(name);
    m.set_type(type);
    for (auto d : shape) m.mutable_shape()->add_dim()->set_size(d);
    m.add_slice();
    return m;
  };
  const auto whole = [](const std::string& name) {
    tensorflow::SavedSlice s;
    s.set_name(name);
    s.mutable_slice();
    return s;
  };
  std::vector<tensorflow::SavedSliceMeta> metas;
  std::vector<tensorflow::SavedSlice> slices;
  const auto add = [&](const std::string& name, tensorflow::DataType type, const std::function<void(tensorflow::TensorProto*)>& fill) {
    metas.push_back(meta(name, type, {2}));
    slices.push_back(whole(name));
    slices.back().mutable_data()->set_dtype(type);
    fill(slices.back().mutable_data());
  };
  add("f32", tensorflow::DT_FLOAT, [](auto* t) { t->add_float_val(1.5f), t->add_float_val(-2); });
  add("f64", tensorflow::DT_DOUBLE, [](auto* t) { t->add_double_val(0.25), t->add_double_val(4); });
  add("i32", tensorflow::DT_INT32, [](auto* t) { t->add_int_val(-7), t->add_int_val(9); });
  add("i8", tensorflow::DT_INT8, [](auto* t) { t->add_int_val(-1), t->add_int_val(127); });
  add("u8", tensorflow::DT_UINT8, [](auto* t) { t->add_int_val(255), t->add_int_val(0); });
  add("i64", tensorflow::DT_INT64, [](auto* t) { t->add_int64_val(-1), t->add_int64_val(1LL << 40); });
  add("u32", tensorflow::DT_UINT32, [](auto* t) { t->add_uint32_val(1), t->add_uint32_val(0xffffffffu); });
  add("u64", tensorflow::DT_UINT64, [](auto* t) { t->add_uint64_val(1), t->add_uint64_val(~0ull); });
  add("bool", tensorflow::DT_BOOL, [](auto* t) { t->add_bool_val(true), t->add_bool_val(false); });
  add("half", tensorflow::DT_HALF, [](auto* t) { t->add_half_val(0x3c00), t->add_half_val(0xc000); });
  add("bf16", tensorflow::DT_BFLOAT16, [](auto* t) { t->add_half_val(0x3f80), t->add_half_val(0); });
  add("c64", tensorflow::DT_COMPLEX64, [](auto* t) { for (int i = 0; i < 4; ++i) t->add_scomplex_val(static_cast<float>(i)); });
  add("c128", tensorflow::DT_COMPLEX128, [](auto* t) { for (int i = 0; i < 4; ++i) t->add_dcomplex_val(i); });
  add("str", tensorflow::DT_STRING, [](auto* t) { t->add_string_val("ab"), t->add_string_val(""); });
  add("content", tensorflow::DT_FLOAT, [](auto* t) { t->set_tensor_content(std::string(8, '\x01')); });
  write_v1("gen_v1_every_field", metas, slices);
  for (std::size_t i = 0; i < metas.size(); ++i) write_v1("gen_v1_" + metas[i].name(), {metas[i]}, {slices[i]});

  // A [4, 2] float tensor saved as rows 0-1 and 2-3.
  tensorflow::SavedSliceMeta m = meta("part", tensorflow::DT_FLOAT, {4, 2});
  m.clear_slice();
  std::vector<tensorflow::SavedSlice> parts;
  for (int half = 0; half < 2; ++half) {
    tensorflow::TensorSliceProto sp;
    auto* rows = sp.add_extent();
    rows->set_start(2 * half);
    rows->set_length(2);
    sp.add_extent();
    *m.add_slice() = sp;
    tensorflow::SavedSlice s;
    s.set_name("part");
    *s.mutable_slice() = sp;
    s.mutable_data()->set_dtype(tensorflow::DT_FLOAT);
    for (int i = 0; i < 4; ++i) s.mutable_data()->add_float_val(static_cast<float>(4 * half + i));
    parts.push_back(s);
  }
  write_v1("gen_v1_partitioned", {m}, parts);
  (void)work;
}

// Partitioned-tensor descriptions for slice_key (see slice_key_fuzz.cpp for the byte layout).
void generated_slice_inputs() {
  for (const char* spec : {"10 4 0,5:-", "4 2 -:-", "3 0,3", "5 6 1,2:3,3", "7 -", "1 2 3 0,1:0,2:1,2"})
    seed("slice_key", std::string("spec_") + spec, std::string(1, '\0') + spec);
  // float32 [4, 2] as rows 0-1 and 2-3; the data after the description.
  std::string two_rows = {'\x01', '\x00', '\x02', '\x04', '\x02', '\x02',
                          '\x00', '\x01', '\x00', '\x02', '\x00',
                          '\x00', '\x01', '\x02', '\x02', '\x00'};
  two_rows += std::string(32, '\x11');
  seed("slice_key", "part_two_rows", two_rows);
  // int64 [6] as (0, 1), (1, 3), (4, 2).
  std::string three = {'\x01', '\x02', '\x01', '\x06', '\x03', '\x00', '\x01', '\x00', '\x01',
                       '\x00', '\x01', '\x01', '\x03', '\x00', '\x01', '\x04', '\x02'};
  three += std::string(48, '\x22');
  seed("slice_key", "part_three_1d", three);
  // The same as overlapping slices, and as a string tensor (not assembled).
  std::string overlap = two_rows;
  overlap[13] = '\x01';  // the second slice starts at row 1
  seed("slice_key", "part_overlap", overlap);
  std::string strings = two_rows;
  strings[1] = '\x04';
  seed("slice_key", "part_strings", strings);
}

// A graph with every kind of variable the freezer handles, as GraphDef, MetaGraphDef and SavedModel.
void generated_graphs() {
  tensorflow::GraphDef g;
  const auto node = [&](const std::string& name, const std::string& op, std::vector<std::string> inputs) {
    auto* n = g.add_node();
    n->set_name(name);
    n->set_op(op);
    for (auto& i : inputs) n->add_input(i);
    n->set_device("/device:CPU:0");
    return n;
  };
  const auto set_type = [](tensorflow::NodeDef* n, const char* attr, tensorflow::DataType t) {
    (*n->mutable_attr())[attr].set_type(t);
  };
  const auto set_shape = [](tensorflow::NodeDef* n, std::vector<std::int64_t> dims) {
    auto* s = (*n->mutable_attr())["shape"].mutable_shape();
    for (auto d : dims) s->add_dim()->set_size(d);
  };
  auto* x = node("x", "Placeholder", {});
  set_type(x, "dtype", tensorflow::DT_FLOAT);
  auto* w = node("w", "VariableV2", {});
  set_type(w, "dtype", tensorflow::DT_FLOAT);
  set_shape(w, {2, 3});
  set_type(node("w/read", "Identity", {"w"}), "T", tensorflow::DT_FLOAT);
  set_type(node("y", "MatMul", {"x", "w/read"}), "T", tensorflow::DT_FLOAT);
  auto* b = node("b", "VarHandleOp", {});
  set_type(b, "dtype", tensorflow::DT_FLOAT);
  set_shape(b, {3});
  (*b->mutable_attr())["shared_name"].set_s("b");
  set_type(node("b/read", "ReadVariableOp", {"b"}), "dtype", tensorflow::DT_FLOAT);
  auto* p = node("p", "VariableV2", {});
  set_type(p, "dtype", tensorflow::DT_FLOAT);
  set_shape(p, {4, 2});
  auto* step = node("step", "VariableV2", {});
  set_type(step, "dtype", tensorflow::DT_INT64);
  set_shape(step, {});
  set_type(node("gather", "ResourceGather", {"b", "idx", "^step"}), "dtype", tensorflow::DT_FLOAT);
  node("idx", "Const", {});
  set_type(node("out", "Add", {"y", "b/read", "gather"}), "T", tensorflow::DT_FLOAT);
  (*node("out2", "Identity", {"p"})->mutable_attr())["_class"].mutable_list()->add_s("loc:@w");

  std::string text;
  google::protobuf::TextFormat::PrintToString(g, &text);
  const std::string binary = g.SerializeAsString();
  for (char how : {'\x00', '\x08', '\x18', '\x28', '\x48'}) {
    const std::string tag(1, how);
    seed("graph", "gen_graph_pb_" + std::to_string(how), tag + binary);
    seed("graph", "gen_graph_pbtxt_" + std::to_string(how), std::string(1, static_cast<char>(how + 1)) + text);
  }
  tensorflow::MetaGraphDef meta;
  *meta.mutable_graph_def() = g;
  meta.mutable_meta_info_def()->add_tags("serve");
  meta.mutable_saver_def()->set_filename_tensor_name("save/Const:0");
  meta.mutable_saver_def()->set_save_tensor_name("save/control_dependency:0");
  meta.mutable_saver_def()->set_restore_op_name("save/restore_all");
  meta.mutable_saver_def()->set_version(tensorflow::SaverDef::V2);
  // The saver's op, naming the keys (and a partitioned variable by its spec).
  tensorflow::GraphDef& mg = *meta.mutable_graph_def();
  auto* save = mg.add_node();
  save->set_name("save/SaveV2");
  save->set_op("SaveV2");
  for (const char* in : {"save/Const", "save/tensor_names", "save/shape_and_slices", "w", "p"}) save->add_input(in);
  auto* names = mg.add_node();
  names->set_name("save/tensor_names");
  names->set_op("Const");
  auto* names_value = (*names->mutable_attr())["value"].mutable_tensor();
  names_value->set_dtype(tensorflow::DT_STRING);
  names_value->add_string_val("w");
  names_value->add_string_val("p");
  auto* specs = mg.add_node();
  specs->set_name("save/shape_and_slices");
  specs->set_op("Const");
  auto* specs_value = (*specs->mutable_attr())["value"].mutable_tensor();
  specs_value->set_dtype(tensorflow::DT_STRING);
  specs_value->add_string_val("");
  specs_value->add_string_val("4 2 0,2:-");
  const std::string meta_bytes = meta.SerializeAsString();
  for (char how : {'\x02', '\x0a', '\x2a'}) seed("graph", "gen_meta_" + std::to_string(how), std::string(1, how) + meta_bytes);
  tensorflow::SavedModel saved;
  *saved.add_meta_graphs() = meta;
  seed("graph", "gen_saved_model_pb", std::string(1, '\x03') + saved.SerializeAsString());
  std::string saved_text;
  google::protobuf::TextFormat::PrintToString(saved, &saved_text);
  seed("graph", "gen_saved_model_pbtxt", std::string(1, '\x0c') + saved_text);
}

void generated_state_files() {
  const auto state = tfckpt::make_checkpoint_state("/tmp/train", "/tmp/train/ckpt-3", {"/tmp/train/ckpt-1", "/tmp/train/ckpt-2"},
                                                   {1749551857.5064511, 1749551900.25, 1e16}, 1749486234.07, true);
  check(state.status());
  seed("state_file", "gen_tf2_manager", tfckpt::checkpoint_state_text(*state));
  const auto plain = tfckpt::make_checkpoint_state("train", "train/model.ckpt-1000");
  check(plain.status());
  seed("state_file", "gen_tf1_saver", tfckpt::checkpoint_state_text(*plain));
  seed("state_file", "gen_escapes", "model_checkpoint_path: \"a\\\\b\\\"c\\303\\251\\000\"\n"
                                    "all_model_checkpoint_paths: 'x'\nlast_preserved_timestamp: -0.0\n");
  seed("state_file", "gen_empty", "");
}

void fixture_seeds(const fs::path& fixtures) {
  std::error_code ec;
  if (!fs::is_directory(fixtures, ec)) {
    std::fprintf(stderr, "make_fuzz_seeds: no fixtures at %s; only generated seeds are written\n", fixtures.c_str());
    return;
  }
  std::vector<fs::path> files;
  for (const auto& f : fs::recursive_directory_iterator(fixtures, ec))
    if (f.is_regular_file()) files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    const std::string rel = fs::relative(f, fixtures).string();
    const std::string name = "tf_" + rel;
    const std::string file = f.filename().string();
    const std::string ext = f.extension().string();
    if (ext == ".index") {
      seed_bundle(name, f.string().substr(0, f.string().size() - 6));
    } else if (file == "checkpoint") {
      seed("state_file", name, read_file(f));
    } else if (ext == ".meta") {
      for (char how : {'\x02', '\x0a'}) seed("graph", name + "." + std::to_string(how), std::string(1, how) + read_file(f));
    } else if (ext == ".pb" && file != "fingerprint.pb") {
      const char how = file == "saved_model.pb" ? '\x03' : '\x00';
      seed("graph", name, std::string(1, how) + read_file(f));
    } else if (ext == ".pbtxt") {
      seed("graph", name, std::string(1, '\x01') + read_file(f));
    } else if (fs::file_size(f, ec) >= codec::kFooterSize && f.string().find(".data-") == std::string::npos) {
      const std::string bytes = read_file(f);
      if (tfckpt::detail::load_le<std::uint64_t>(reinterpret_cast<const std::byte*>(bytes.data()) + bytes.size() - 8) ==
          codec::kTableMagic) {
        seed("v1", name, bytes);
        seed("sstable", name, bytes);
      }
    }
  }
}

}  // namespace

// An .npz archive of one deflated member (what numpy.savez_compressed writes), built by hand.
std::string deflated_npz(const std::string& member, const std::string& npy) {
  std::string packed(compressBound(npy.size()) + 64, '\0');
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(npy.data()));
  z.avail_in = static_cast<uInt>(npy.size());
  z.next_out = reinterpret_cast<Bytef*>(packed.data());
  z.avail_out = static_cast<uInt>(packed.size());
  deflate(&z, Z_FINISH);
  packed.resize(z.total_out);
  deflateEnd(&z);
  codec::zip_entry m{.name = member, .size = packed.size()};
  m.crc = codec::zip_crc32(0, std::as_bytes(std::span(npy.data(), npy.size())));
  std::string out = codec::zip_local_header(m) + packed + codec::zip_data_descriptor(m);
  const std::size_t cd_offset = out.size();
  std::string central = codec::zip_central_header(m, false);
  central[10] = 8;  // method: deflated
  for (int i = 0; i < 4; ++i) central[24 + i] = static_cast<char>((npy.size() >> (8 * i)) & 0xff);  // original size
  out[8] = 8;
  out += central;
  return out + codec::zip_end_records(1, cd_offset, central.size(), false);
}

// safetensors, .npz and .npy files from our sinks (and one deflated archive), prefixed with the
// byte that makes foreign_formats_fuzz read them as such.
void generated_foreign_formats(const fs::path& work) {
  std::vector<tfckpt::tensor> planned;
  auto add = [&](std::string name, tfckpt::dtype type, std::vector<std::int64_t> shape, std::string bytes) {
    tfckpt::tensor t;
    t.name = std::move(name);
    t.dtype = type;
    t.shape = std::move(shape);
    t.source = tfckpt::byte_source::from_bytes(std::move(bytes));
    planned.push_back(std::move(t));
  };
  add("dense/kernel", tfckpt::dtype::float32, {2, 3}, std::string(24, '\x3f'));
  add("step", tfckpt::dtype::int64, {}, std::string("\x07\0\0\0\0\0\0\0", 8));
  add("mask", tfckpt::dtype::boolean, {3}, std::string("\1\0\1", 3));
  add("half", tfckpt::dtype::float16, {2}, std::string("\x00\x3c\x00\xc0", 4));
  add("empty", tfckpt::dtype::float32, {0, 4}, "");
  check(tfckpt::write_safetensors(std::span<const tfckpt::tensor>(planned), work / "f.safetensors", {.overwrite = true, .sync = false}));
  seed("foreign_formats", "safetensors", std::string(1, '\0') + read_file(work / "f.safetensors"));
  check(tfckpt::write_safetensors(std::span<const tfckpt::tensor>(planned), work / "m.safetensors",
                                  {.metadata = {{"format", "pt"}}, .sort_by_alignment = true, .overwrite = true, .sync = false}));
  seed("foreign_formats", "safetensors_metadata_sorted", std::string(1, '\0') + read_file(work / "m.safetensors"));
  for (const bool zip64 : {false, true}) {
    check(tfckpt::write_npz(std::span<const tfckpt::tensor>(planned), work / "a.npz",
                            {.overwrite = true, .sync = false, .force_zip64 = zip64}));
    seed("foreign_formats", zip64 ? "npz_zip64" : "npz", std::string(1, '\1') + read_file(work / "a.npz"));
  }
  const std::string npy = tfckpt::npy_header("<f4", std::vector<std::int64_t>{2, 3}) + std::string(24, '\x41');
  seed("foreign_formats", "npz_deflated", std::string(1, '\1') + deflated_npz("w.npy", npy));
  seed("foreign_formats", "npy_f4", std::string(1, '\2') + npy);
  seed("foreign_formats", "npy_big_endian",
       std::string(1, '\2') + tfckpt::npy_header(">i8", std::vector<std::int64_t>{2}) + std::string(16, '\x01'));
  seed("foreign_formats", "npy_bytes",
       std::string(1, '\2') + tfckpt::npy_header("|S3", std::vector<std::int64_t>{2}) + std::string("ab\0c\0\0", 6));
  seed("foreign_formats", "npy_bool_scalar", std::string(1, '\2') + tfckpt::npy_header("|b1", {}) + std::string(1, '\1'));
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_fuzz_seeds <fixtures dir> <out dir>\n");
    return 2;
  }
  g_out = argv[2];
  const fs::path work = g_out / ".work";
  fs::create_directories(work);
  fixture_seeds(argv[1]);
  generated_bundles(work);
  generated_v1(work);
  generated_slice_inputs();
  generated_graphs();
  generated_state_files();
  generated_foreign_formats(work);
  fs::remove_all(work);
  std::printf("make_fuzz_seeds: %zu seeds in %s\n", g_written, g_out.c_str());
  return 0;
}
