// SPDX-License-Identifier: Apache-2.0
// `tfckpt ls CKPT [--align WHEN] [--json] [--objects]`: every tensor's name, dtype, shape, shard, offset
// and size, in key order; or, with --objects, the object tree of a TF2 checkpoint.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "commands.hpp"
#include "output.hpp"
#include "parallel.hpp"
#include "tfckpt/checkpoint/checkpoint.hpp"
#include "tfckpt/checkpoint/index_scan.hpp"
#include "tfckpt/checkpoint/object_graph.hpp"

namespace tfckpt_cli {
namespace {

struct ls_options {
  std::string checkpoint;
  std::string align = "auto";  // the text listing's columns: auto (aligned on a terminal), always, never
  bool json = false;
  bool objects = false;
  unsigned threads = 0;  // 0: as listing_plan decides
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

// How a listing runs: the index cut into parts of about 256 KiB (a part's rows wait in memory until
// printed), scanned and formatted on `threads` threads; by default one per core (at most 4), or the
// calling thread alone for an index under 4 MiB, which would not repay starting threads.
struct listing_plan {
  std::vector<tfckpt::index_part> parts;
  std::size_t threads = 1;

  listing_plan(const tfckpt::index_scanner& index, unsigned requested_threads) {
    const std::uint64_t size = index.index_size();
    if (requested_threads != 0) {
      threads = requested_threads;
    } else {
      threads = size < (std::uint64_t{4} << 20) ? 1 : std::min<std::size_t>(available_cores(), 4);
    }
    parts = index.split(std::max<std::size_t>(4 * threads, size >> 18));
  }
  std::size_t window() const { return 2 * threads; }
};

// A part's output, and the status its scan ended with: the rows before an error are printed, then the
// error.
template <class Text>
struct part_output {
  Text text;
  absl::Status status;
};

std::string_view view_of(const std::string& s) { return s; }
std::string_view view_of(const text_buffer& b) { return b.view(); }

// Scans every part with visit(part) -> absl::Status on the plan's threads: OK, or the error of the
// first part in key order that failed.
template <class VisitPart>
absl::Status check_parts(const listing_plan& plan, VisitPart&& visit_part) {
  absl::Status first_error;
  run_in_order(
      plan.parts.size(), plan.threads, plan.window(), [&](std::size_t k) { return visit_part(k); },
      [&](std::size_t, absl::Status s) {
        first_error = std::move(s);
        return first_error.ok();
      });
  return first_error;
}

// Formats the parts on the plan's threads (format(part, text) -> absl::Status, `text` a Text) and
// hands each text to write(std::string_view) in order; stops at the first error, after the rows
// before it. The texts' buffers are reused, part after part: fresh ones cost page faults, and the
// address-space lock those take makes the threads wait for each other.
template <class Text, class Format, class Write>
absl::Status print_parts(const listing_plan& plan, Format&& format, Write&& write) {
  std::mutex spare_lock;
  std::vector<Text> spare;
  absl::Status result;
  run_in_order(
      plan.parts.size(), plan.threads, plan.window(),
      [&](std::size_t k) {
        part_output<Text> o;
        {
          std::lock_guard lock(spare_lock);
          if (!spare.empty()) {
            o.text = std::move(spare.back());
            spare.pop_back();
          }
        }
        o.text.clear();
        o.status = format(plan.parts[k], o.text);
        return o;
      },
      [&](std::size_t, part_output<Text> o) {
        write(view_of(o.text));
        result = std::move(o.status);
        std::lock_guard lock(spare_lock);
        spare.push_back(std::move(o.text));
        return result.ok();
      });
  return result;
}

// One object per line inside the array: valid JSON that still greps and diffs well. Written by
// hand: building an nlohmann object per tensor made `ls --json` of a million tensors 7x slower
// than the text listing. A first scan checks the whole index, so that a bad one prints nothing.
absl::Status print_json(const tfckpt::index_scanner& index, unsigned threads, stdout_writer& out) {
  const listing_plan plan(index, threads);
  TFCKPT_RETURN_IF_ERROR(check_parts(plan, [&](std::size_t k) {
    return index.scan(plan.parts[k], [](const tfckpt::index_record&) { return absl::OkStatus(); });
  }));
  bool any = false;
  out.buf() += '[';
  const absl::Status printed = print_parts<std::string>(
      plan,
      [&](const tfckpt::index_part& part, std::string& buf) {
        char digits[24];
        const auto number = [&](std::int64_t v) { buf.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr); };
        return index.scan(part, [&](const tfckpt::index_record& e) {
          buf += ",\n  {\"name\":";
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
          return absl::OkStatus();
        });
      },
      [&](std::string_view text) {
        if (!any && !text.empty()) {
          text.remove_prefix(1);  // the first object has no comma before it
          any = true;
        }
        out.write(text);
      });
  TFCKPT_RETURN_IF_ERROR(printed);
  out.buf() += any ? "\n]\n" : "]\n";
  return absl::OkStatus();
}

// Characters printable_key(key) takes: non-printable bytes and '\\' become "\\xHH". Eight bytes at a
// time while none needs escaping (nearly every name): this runs twice for every tensor listed.
std::size_t printable_width(std::string_view key) {
  constexpr std::uint64_t kOnes = 0x0101010101010101u, kHighs = 0x8080808080808080u;
  const auto has_zero_byte = [](std::uint64_t v) { return ((v - kOnes) & ~v & kHighs) != 0; };
  std::size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, key.data() + i, 8);
    // A byte >= 0x80, < 0x20 (the subtraction borrows only from bytes below 0x20 once high bytes
    // are ruled out), 0x7f or '\\'.
    if ((w & kHighs) != 0 || ((w - 0x20 * kOnes) & ~w & kHighs) != 0 || has_zero_byte(w ^ (0x7f * kOnes)) ||
        has_zero_byte(w ^ ('\\' * kOnes)))
      break;
  }
  std::size_t n = key.size();
  for (; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') n += 3;
  }
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

// Writes `name` at `p` as printable_key() shows it, `width` (printable_width(name)) characters;
// returns the end.
char* put_name(char* p, std::string_view name, std::size_t width) {
  if (width == name.size()) {
    std::memcpy(p, name.data(), name.size());
    return p + name.size();
  }
  const std::string shown = tfckpt::printable_key(name);
  std::memcpy(p, shown.data(), shown.size());
  return p + shown.size();
}

// Writes "[d0,d1,...]" at `p`; returns the end.
char* put_shape(char* p, char* limit, tfckpt::shape_view dims) {
  *p++ = '[';
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (d) *p++ = ',';
    p = std::to_chars(p, limit, dims[d]).ptr;
  }
  *p++ = ']';
  return p;
}

// The widths of the table's columns: NAME DTYPE SHAPE SHARD OFFSET SIZE, at least their headers'.
struct column_widths {
  std::size_t w[6] = {4, 5, 5, 5, 6, 4};
  // The numeric columns are as wide as their largest value (none is negative).
  std::int64_t max_shard = 0, max_offset = 0, max_size = 0;

  void see(const tfckpt::index_record& e) {
    w[0] = std::max(w[0], printable_width(e.name));
    w[1] = std::max(w[1], tfckpt::dtype_name(e.dtype).size());
    w[2] = std::max(w[2], shape_width(e.shape));
    max_shard = std::max<std::int64_t>(max_shard, e.shard);
    max_offset = std::max(max_offset, static_cast<std::int64_t>(e.offset));
    max_size = std::max(max_size, static_cast<std::int64_t>(e.size));
  }
  void add(const column_widths& o) {
    for (int i = 0; i < 3; ++i) w[i] = std::max(w[i], o.w[i]);
    max_shard = std::max(max_shard, o.max_shard);
    max_offset = std::max(max_offset, o.max_offset);
    max_size = std::max(max_size, o.max_size);
  }
  void finish() {
    w[3] = std::max(w[3], decimal_width(max_shard));
    w[4] = std::max(w[4], decimal_width(max_offset));
    w[5] = std::max(w[5], decimal_width(max_size));
  }
  // The longest a row can be: every row fits in the sum of the column widths.
  std::size_t row_max() const { return w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + 2 * 5 + 1; }
};

// The rows of `part` appended to `buf`, each written in place into room taken a chunk at a time.
absl::Status format_rows(const tfckpt::index_scanner& index, const tfckpt::index_part& part, const column_widths& cols,
                         const std::string& path, text_buffer& buf) {
  const std::size_t* w = cols.w;
  const std::size_t row_max = cols.row_max();
  const std::size_t chunk = std::max<std::size_t>(std::size_t{1} << 16, 4 * row_max);
  char* p = buf.room(chunk);
  char* limit = p + chunk;
  const auto spaces = [&p](std::size_t n) {
    std::memset(p, ' ', n);
    p += n;
  };
  // Right-aligned in `width` columns; `digits` is decimal_width(v).
  const auto number = [&](std::int64_t v, std::size_t digits, std::size_t width) {
    spaces(width - digits);
    p = std::to_chars(p, limit, v).ptr;
  };
  const absl::Status formatted = index.scan(part, [&](const tfckpt::index_record& e) {
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
      buf.commit(p);
      p = buf.room(chunk);
      limit = p + chunk;
    }
    p = put_name(p, e.name, name_width);
    spaces(w[0] - name_width + 2);
    std::memcpy(p, dtype.data(), dtype.size());
    p += dtype.size();
    spaces(w[1] - dtype.size() + 2);
    p = put_shape(p, limit, e.shape);
    spaces(w[2] - shape_chars + 2);
    number(e.shard, shard_digits, w[3]);
    spaces(2);
    number(static_cast<std::int64_t>(e.offset), offset_digits, w[4]);
    spaces(2);
    number(static_cast<std::int64_t>(e.size), size_digits, w[5]);
    *p++ = '\n';
    return absl::OkStatus();
  });
  buf.commit(p);
  return formatted;
}

// The rows of `part` as tab-separated columns appended to `buf`: one pass over the index, nothing
// to know in advance. Names cannot hold a raw tab or newline: they are escaped as "\\xHH".
absl::Status format_tab_separated_rows(const tfckpt::index_scanner& index, const tfckpt::index_part& part,
                                       text_buffer& buf) {
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  constexpr std::size_t kNumberMax = 20;  // characters of the longest int64
  char* p = buf.room(kChunk);
  char* limit = p + kChunk;
  const absl::Status formatted = index.scan(part, [&](const tfckpt::index_record& e) {
    const std::size_t name_width = printable_width(e.name);
    const std::string_view dtype = tfckpt::dtype_name(e.dtype);
    const std::size_t row_max =
        name_width + dtype.size() + 2 + e.shape.size() * (kNumberMax + 1) + 3 * kNumberMax + 6;
    if (static_cast<std::size_t>(limit - p) < row_max) {
      buf.commit(p);
      const std::size_t n = std::max(kChunk, row_max);
      p = buf.room(n);
      limit = p + n;
    }
    p = put_name(p, e.name, name_width);
    *p++ = '\t';
    std::memcpy(p, dtype.data(), dtype.size());
    p += dtype.size();
    *p++ = '\t';
    p = put_shape(p, limit, e.shape);
    *p++ = '\t';
    p = std::to_chars(p, limit, e.shard).ptr;
    *p++ = '\t';
    p = std::to_chars(p, limit, e.offset).ptr;
    *p++ = '\t';
    p = std::to_chars(p, limit, e.size).ptr;
    *p++ = '\n';
    return absl::OkStatus();
  });
  buf.commit(p);
  return formatted;
}

// Tab-separated columns, streamed in one pass: the rows before an error are printed, then the error.
absl::Status print_tab_separated(const tfckpt::index_scanner& index, unsigned threads, stdout_writer& out) {
  const listing_plan plan(index, threads);
  out.buf() += "NAME\tDTYPE\tSHAPE\tSHARD\tOFFSET\tSIZE\n";
  return print_parts<text_buffer>(
      plan, [&](const tfckpt::index_part& part, text_buffer& text) { return format_tab_separated_rows(index, part, text); },
      [&](std::string_view text) { out.write(text); });
}

// Aligned columns in bounded memory: a first scan of the index sizes the columns (and checks the
// whole index before anything is printed), the second prints the rows. Both run on every core, a
// part of the index per thread at a time; the rows are written in key order.
absl::Status print_aligned(const tfckpt::index_scanner& index, const std::string& path, unsigned threads,
                           stdout_writer& out) {
  const listing_plan plan(index, threads);
  std::vector<column_widths> part_widths(plan.parts.size());
  TFCKPT_RETURN_IF_ERROR(check_parts(plan, [&](std::size_t k) {
    return index.scan(plan.parts[k], [&cols = part_widths[k]](const tfckpt::index_record& e) {
      cols.see(e);
      return absl::OkStatus();
    });
  }));
  column_widths cols;
  for (const column_widths& c : part_widths) cols.add(c);
  cols.finish();
  const std::size_t* w = cols.w;
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
  return print_parts<text_buffer>(
      plan, [&](const tfckpt::index_part& part, text_buffer& text) { return format_rows(index, part, cols, path, text); },
      [&](std::string_view text) { out.write(text); });
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
    // The tensor list streams from the index, never held whole. Tab-separated columns take one
    // scan; aligned ones two (the first sizes the columns), and so does JSON, whose first scan only
    // checks the index, so that a bad one prints nothing. Columns are aligned for a person reading
    // a terminal, as ls(1) formats for one; a program reading a pipe gets the single pass.
    const bool aligned =
        opt.align == "always" || (opt.align == "auto" && ::isatty(STDOUT_FILENO) == 1);
    auto index = tfckpt::index_scanner::open(opt.checkpoint);
    absl::Status listed = index.status();
    if (listed.ok()) {
      if (opt.json) {
        listed = print_json(*index, opt.threads, out);
      } else if (aligned) {
        listed = print_aligned(*index, opt.checkpoint, opt.threads, out);
      } else {
        listed = print_tab_separated(*index, opt.threads, out);
      }
    }
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
  app->add_option("--align", opt->align,
                  "Text output: columns padded with spaces to line up (`always`), or separated by one tab "
                  "(`never`); `auto` (the default) aligns them when the output is a terminal")
      ->type_name("WHEN")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app->add_flag("--json", opt->json,
                "Print a JSON array of {name, dtype, shape, shard, offset, size} objects instead of a table");
  app->add_option("--threads,-j", opt->threads,
                  "Threads decoding the index side by side (default 0: one per core, at most 4; one for an index "
                  "under 4 MiB)")
      ->type_name("N")
      ->check(CLI::Range(0u, 256u));
  app->add_flag("--objects", opt->objects,
                "TF2 checkpoints: show the object tree (objects, their values, optimizer slots under their variable); "
                "with --json, one {key, object_path, attribute, full_name, present, slot} object per value");
  app->footer(
      "Text output: a header line, then one tensor per line (non-printable bytes in names, tabs\n"
      "among them, are shown as \\xHH). On a terminal the columns are aligned; into a pipe or a file\n"
      "they are separated by tabs, written as the index is read (awk, cut -f and sort -t$'\\t' split\n"
      "them). The index alone is read; no tensor data is touched.\n"
      "\n"
      "Examples:\n"
      "  tfckpt ls train/model.ckpt-1000\n"
      "  tfckpt ls training_checkpoints/ --objects\n"
      "  tfckpt ls train/ --json | jq -r '.[] | select(.dtype == \"float32\") | .name'");
  return {app, [opt] { return run_ls(*opt); }};
}

}  // namespace tfckpt_cli
