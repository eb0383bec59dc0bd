// SPDX-License-Identifier: Apache-2.0
// `tfckpt ls CKPT [--json] [--objects]`: every tensor's name, dtype, shape, shard, offset and size, in
// key order; or, with --objects, the object tree of a TF2 checkpoint.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"

namespace tfckpt_cli {
namespace {

struct ls_options {
  std::string checkpoint;
  bool json = false;
  bool objects = false;
};

void print_json(const tfckpt::checkpoint& ckpt, stdout_writer& out) {
  // One object per line inside the array: valid JSON that still greps and diffs well.
  std::string& buf = out.buf();
  buf += '[';
  bool first = true;
  for (const tfckpt::entry& e : ckpt.entries()) {
    const nlohmann::ordered_json obj = {
        {"name", std::string(e.name())},
        {"dtype", std::string(tfckpt::dtype_name(e.dtype()))},
        {"shape", std::vector<std::int64_t>(e.shape().begin(), e.shape().end())},
        {"shard", e.shard()},
        {"offset", e.offset()},
        {"size", e.size()},
    };
    buf += first ? "\n  " : ",\n  ";
    first = false;
    buf += obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.maybe_flush();
  }
  buf += first ? "]\n" : "\n]\n";
}

void print_text(const tfckpt::checkpoint& ckpt, stdout_writer& out) {
  struct row {
    std::string name, dtype, shape, shard, offset, size;
  };
  std::vector<row> rows;
  rows.reserve(ckpt.size() + 1);
  rows.push_back({"NAME", "DTYPE", "SHAPE", "SHARD", "OFFSET", "SIZE"});
  for (const tfckpt::entry& e : ckpt.entries())
    rows.push_back({tfckpt::printable_key(e.name()), std::string(tfckpt::dtype_name(e.dtype())),
                    tfckpt::shape_string(e.shape()), std::to_string(e.shard()), std::to_string(e.offset()),
                    std::to_string(e.size())});
  std::size_t w[6] = {};
  for (const row& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.dtype.size());
    w[2] = std::max(w[2], r.shape.size());
    w[3] = std::max(w[3], r.shard.size());
    w[4] = std::max(w[4], r.offset.size());
    w[5] = std::max(w[5], r.size.size());
  }
  const auto iw = [](std::size_t n) { return static_cast<int>(n); };
  for (const row& r : rows) {
    absl::StrAppendFormat(&out.buf(), "%-*s  %-*s  %-*s  %*s  %*s  %*s\n", iw(w[0]), r.name, iw(w[1]), r.dtype,
                          iw(w[2]), r.shape, iw(w[3]), r.shard, iw(w[4]), r.offset, iw(w[5]), r.size);
    out.maybe_flush();
  }
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
  auto ckpt = tfckpt::open(opt.checkpoint);
  if (!ckpt.ok()) return report_error(ckpt.status());
  stdout_writer out;
  if (opt.objects) {
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
  if (opt.json) {
    print_json(*ckpt, out);
  } else {
    print_text(*ckpt, out);
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
