// SPDX-License-Identifier: Apache-2.0
// `tfckpt ls CKPT [--json] [--objects]`: every tensor's name, dtype, shape, shard, offset and size, in
// key order; or, with --objects, the object tree of a TF2 checkpoint.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/index_scan.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"

namespace tfckpt_cli {
namespace {

struct ls_options {
  std::string checkpoint;
  bool json = false;
  bool objects = false;
};

// `s` as a JSON string: printable ASCII other than '"' and '\\' as it is (nearly every tensor
// name), anything else through nlohmann, which escapes it and replaces invalid UTF-8.
void append_json_string(std::string& buf, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    buf += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  buf += '"';
  buf += s;
  buf += '"';
}

// One object per line inside the array: valid JSON that still greps and diffs well. Written by
// hand: building an nlohmann object per tensor made `ls --json` of a million tensors 7x slower
// than the text listing.
absl::Status print_json(const tfckpt::index_scanner& index, stdout_writer& out) {
  std::string& buf = out.buf();
  buf += '[';
  bool first = true;
  char digits[24];
  const auto number = [&](std::int64_t v) { buf.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr); };
  TFCKPT_RETURN_IF_ERROR(index.scan([&](const tfckpt::index_record& e) {
    buf += first ? "\n  {\"name\":" : ",\n  {\"name\":";
    first = false;
    append_json_string(buf, e.name);
    buf += ",\"dtype\":";
    append_json_string(buf, tfckpt::dtype_name(e.dtype));
    buf += ",\"shape\":[";
    for (std::size_t d = 0; d < e.shape.size(); ++d) {
      if (d) buf += ',';
      number(e.shape[d]);
    }
    buf += "],\"shard\":";
    number(e.shard);
    buf += ",\"offset\":";
    number(static_cast<std::int64_t>(e.offset));
    buf += ",\"size\":";
    number(static_cast<std::int64_t>(e.size));
    buf += '}';
    out.maybe_flush();
    return absl::OkStatus();
  }));
  buf += first ? "]\n" : "\n]\n";
  return absl::OkStatus();
}

// Characters printable_key(key) takes: non-printable bytes and '\\' become "\\xHH".
std::size_t printable_width(std::string_view key) {
  std::size_t n = key.size();
  for (const unsigned char c : key)
    if (c < 0x20 || c >= 0x7f || c == '\\') n += 3;
  return n;
}

std::size_t decimal_width(std::int64_t v) {
  std::size_t n = v < 0 ? 2 : 1;
  std::uint64_t u = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  for (; u >= 10000; u /= 10000) n += 4;
  for (; u >= 10; u /= 10) ++n;
  return n;
}

std::size_t shape_width(tfckpt::shape_view dims) {
  std::size_t n = 2 + (dims.empty() ? 0 : dims.size() - 1);
  for (const std::int64_t d : dims) n += decimal_width(d);
  return n;
}

void pad(std::string& buf, std::size_t used, std::size_t width) {
  if (used < width) buf.append(width - used, ' ');
}

// `text` left-aligned in `width` columns, then two spaces.
void left(std::string& buf, std::string_view text, std::size_t width) {
  buf += text;
  pad(buf, text.size(), width);
  buf += "  ";
}

// Aligned columns in bounded memory: a first scan of the index sizes the columns (and checks the
// whole index before anything is printed), the second prints each row as it goes.
absl::Status print_text(const tfckpt::index_scanner& index, const std::string& path, stdout_writer& out) {
  std::size_t w[6] = {4, 5, 5, 5, 6, 4};  // the headers: NAME DTYPE SHAPE SHARD OFFSET SIZE
  // The numeric columns are as wide as their largest value (none is negative).
  std::int64_t max_shard = 0, max_offset = 0, max_size = 0;
  TFCKPT_RETURN_IF_ERROR(index.scan([&](const tfckpt::index_record& e) {
    w[0] = std::max(w[0], printable_width(e.name));
    w[1] = std::max(w[1], tfckpt::dtype_name(e.dtype).size());
    w[2] = std::max(w[2], shape_width(e.shape));
    max_shard = std::max<std::int64_t>(max_shard, e.shard);
    max_offset = std::max(max_offset, static_cast<std::int64_t>(e.offset));
    max_size = std::max(max_size, static_cast<std::int64_t>(e.size));
    return absl::OkStatus();
  }));
  w[3] = std::max(w[3], decimal_width(max_shard));
  w[4] = std::max(w[4], decimal_width(max_offset));
  w[5] = std::max(w[5], decimal_width(max_size));
  std::string& buf = out.buf();
  left(buf, "NAME", w[0]);
  left(buf, "DTYPE", w[1]);
  left(buf, "SHAPE", w[2]);
  pad(buf, 5, w[3]);
  buf += "SHARD  ";
  pad(buf, 6, w[4]);
  buf += "OFFSET  ";
  pad(buf, 4, w[5]);
  buf += "SIZE\n";
  // Rows are written in place into the output buffer, grown a chunk at a time: every row fits in
  // the sum of the column widths.
  const std::size_t row_max = w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + 2 * 5 + 1;
  const std::size_t chunk = std::max<std::size_t>(std::size_t{1} << 16, 4 * row_max);
  std::size_t used = buf.size();
  buf.resize(used + chunk);
  char* p = buf.data() + used;
  char* limit = buf.data() + buf.size();
  const auto spaces = [&p](std::size_t n) {
    std::memset(p, ' ', n);
    p += n;
  };
  // Right-aligned in `width` columns; `digits` is decimal_width(v).
  const auto number = [&](std::int64_t v, std::size_t digits, std::size_t width) {
    spaces(width - digits);
    p = std::to_chars(p, limit, v).ptr;
  };
  const absl::Status printed = index.scan([&](const tfckpt::index_record& e) {
    const std::size_t name_width = printable_width(e.name);
    const std::string_view dtype = tfckpt::dtype_name(e.dtype);
    const std::size_t shape_chars = shape_width(e.shape);
    const std::size_t shard_digits = decimal_width(e.shard);
    const std::size_t offset_digits = decimal_width(static_cast<std::int64_t>(e.offset));
    const std::size_t size_digits = decimal_width(static_cast<std::int64_t>(e.size));
    // The widths hold for what the first scan saw; a checkpoint replaced in between may not fit.
    if (name_width > w[0] || dtype.size() > w[1] || shape_chars > w[2] || shard_digits > w[3] ||
        offset_digits > w[4] || size_digits > w[5])
      return absl::AbortedError(absl::StrFormat("%s: the checkpoint changed while it was being listed (at '%s')", path,
                                                tfckpt::printable_key(e.name)));
    if (static_cast<std::size_t>(limit - p) < row_max) {
      buf.resize(static_cast<std::size_t>(p - buf.data()));
      out.flush();
      buf.resize(chunk);
      p = buf.data();
      limit = p + buf.size();
    }
    if (name_width == e.name.size()) {
      std::memcpy(p, e.name.data(), e.name.size());
      p += e.name.size();
    } else {
      const std::string shown = tfckpt::printable_key(e.name);
      std::memcpy(p, shown.data(), shown.size());
      p += shown.size();
    }
    spaces(w[0] - name_width + 2);
    std::memcpy(p, dtype.data(), dtype.size());
    p += dtype.size();
    spaces(w[1] - dtype.size() + 2);
    *p++ = '[';
    for (std::size_t d = 0; d < e.shape.size(); ++d) {
      if (d) *p++ = ',';
      p = std::to_chars(p, limit, e.shape[d]).ptr;
    }
    *p++ = ']';
    spaces(w[2] - shape_chars + 2);
    number(e.shard, shard_digits, w[3]);
    spaces(2);
    number(static_cast<std::int64_t>(e.offset), offset_digits, w[4]);
    spaces(2);
    number(static_cast<std::int64_t>(e.size), size_digits, w[5]);
    *p++ = '\n';
    return absl::OkStatus();
  });
  buf.resize(static_cast<std::size_t>(p - buf.data()));
  return printed;
}

// One line per object, indented by depth, in the order of a depth-first walk of the tree the
// breadth-first paths define; the values an object holds follow it, and slot variables appear
// under their variable. An object reached again by another edge is shown as a link.
void print_object_tree(const tfckpt::checkpoint& ckpt, const tfckpt::object_graph& g, stdout_writer& out) {
  std::vector<std::vector<const tfckpt::object_key*>> slots_of(static_cast<std::size_t>(g.num_nodes()));
  for (const tfckpt::object_key& k : g.keys())
    if (k.is_slot()) slots_of[static_cast<std::size_t>(k.variable_node)].push_back(&k);
  const auto value_line = [&](const tfckpt::object_key& k, int depth, const std::string& label) {
    const tfckpt::entry* e = ckpt.find(k.key);
    absl::StrAppendFormat(&out.buf(), "%*s%s  %s %s  %s\n", 2 * depth, "", label,
                          e ? std::string(tfckpt::dtype_name(e->dtype())) : "MISSING",
                          e ? tfckpt::shape_string(e->shape()) : "", tfckpt::printable_key(k.key));
  };
  const auto walk = [&](auto& self, int node, int depth) -> void {
    const auto& n = g.proto().nodes(node);
    for (const auto& a : n.attributes()) {
      const tfckpt::object_key* k = g.find(a.checkpoint_key());
      if (k != nullptr && !k->is_slot()) value_line(*k, depth, "." + k->attribute);
    }
    for (const tfckpt::object_key* s : slots_of[static_cast<std::size_t>(node)])
      value_line(*s, depth, absl::StrFormat(".OPTIMIZER_SLOT %s/%s", s->optimizer_path, s->slot_name));
    for (const auto& c : n.children()) {
      const auto child_path = g.path_components(c.node_id());
      const bool tree_edge = g.parent(c.node_id()) == node && child_path.size() == g.path_components(node).size() + 1 &&
                             child_path.back() == c.local_name();
      if (tree_edge) {
        absl::StrAppendFormat(&out.buf(), "%*s%s/\n", 2 * depth, "", c.local_name());
        out.maybe_flush();
        self(self, c.node_id(), depth + 1);
      } else {
        absl::StrAppendFormat(&out.buf(), "%*s%s -> %s\n", 2 * depth, "", c.local_name(),
                              g.path(c.node_id()).empty() ? "(root)" : g.path(c.node_id()));
      }
    }
  };
  out.buf() += "(root)\n";
  walk(walk, 0, 1);
}

void print_objects_json(const tfckpt::checkpoint& ckpt, const tfckpt::object_graph& g, stdout_writer& out) {
  std::string& buf = out.buf();
  buf += '[';
  bool first = true;
  for (const tfckpt::object_key& k : g.keys()) {
    nlohmann::ordered_json obj = {{"key", k.key}, {"object_path", k.object_path}, {"attribute", k.attribute},
                                  {"full_name", k.full_name}, {"present", ckpt.find(k.key) != nullptr}};
    if (k.is_slot()) {
      obj["slot"] = {{"variable", k.variable_path}, {"optimizer", k.optimizer_path}, {"name", k.slot_name}};
    }
    buf += first ? "\n  " : ",\n  ";
    first = false;
    buf += obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.maybe_flush();
  }
  buf += first ? "]\n" : "\n]\n";
}

int run_ls(const ls_options& opt) {
  stdout_writer out;
  if (!opt.objects) {
    // The tensor list streams from the index, never held whole: the table scans it twice (the
    // first sizes the columns), and so does JSON, whose first scan only checks it, so that a bad
    // index prints nothing.
    const auto check_only = [](const tfckpt::index_record&) { return absl::OkStatus(); };
    auto index = tfckpt::index_scanner::open(opt.checkpoint);
    absl::Status listed = !index.ok() ? index.status() : opt.json ? index->scan(check_only) : absl::OkStatus();
    if (listed.ok()) listed = opt.json ? print_json(*index, out) : print_text(*index, opt.checkpoint, out);
    if (!listed.ok()) {
      out.flush();
      return report_error(listed);
    }
    return out.finish(kExitOk);
  }
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  auto graph = tfckpt::object_graph::load(*ckpt);
  if (!graph.ok()) return report_error(graph.status());
  if (!graph->has_value())
    return report_error(absl::StrFormat("%s: not an object-based (TF2) checkpoint: it has no %s entry", ckpt->prefix(),
                                        tfckpt::kObjectGraphKey));
  if (opt.json) {
    print_objects_json(*ckpt, **graph, out);
  } else {
    print_object_tree(*ckpt, **graph, out);
  }
  return out.finish(kExitOk);
}

}  // namespace

command add_ls(CLI::App& parent) {
  auto opt = std::make_shared<ls_options>();
  CLI::App* app = parent.add_subcommand("ls", "List every tensor: name, dtype, shape, shard, offset, size (key order)");
  app->add_option("CKPT", opt->checkpoint, kCheckpointHelp)
      ->type_name("PATH")
      ->required();
  app->add_flag("--json", opt->json,
                "Print a JSON array of {name, dtype, shape, shard, offset, size} objects instead of a table");
  app->add_flag("--objects", opt->objects,
                "TF2 checkpoints: show the object tree (objects, their values, optimizer slots under their variable); "
                "with --json, one {key, object_path, attribute, full_name, present, slot} object per value");
  app->footer(
      "Text output: a header line, then one tensor per line in aligned columns (non-printable bytes\n"
      "in names are shown as \\xHH). The index alone is read; no tensor data is touched.\n"
      "\n"
      "Examples:\n"
      "  tfckpt ls train/model.ckpt-1000\n"
      "  tfckpt ls training_checkpoints/ --objects\n"
      "  tfckpt ls train/ --json | jq -r '.[] | select(.dtype == \"float32\") | .name'");
  return {app, [opt] { return run_ls(*opt); }};
}

}  // namespace tfckpt_cli
